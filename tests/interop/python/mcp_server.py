"""An MCP server on the official Python SDK (MCPServer, its streamable HTTP transport, bearer-auth
middleware, protected-resource metadata and transport security), accepting the tokens of the
Authlib server beside it by RFC 7662 introspection, as the SDK's simple-auth example does.

MODE=strict: the SDK refuses a token not issued for this server (`validate_token_resource`, RFC
8707 audience), requires `mcp_api`, and takes only this server's own Origin.
MODE=lax: the SDK's defaults where they are lax: no audience check, no required scope, and no
Origin check. Environment: PORT, MODE, ISSUER, RS_SECRET.
"""

import asyncio
import base64
import json
import os
import urllib.parse
import urllib.request

import uvicorn
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings

PORT = int(os.environ["PORT"])
STRICT = os.environ.get("MODE", "strict") == "strict"
ISSUER = os.environ["ISSUER"]
RESOURCE = f"http://127.0.0.1:{PORT}/mcp"
BASIC = base64.b64encode(f"hg-rs:{os.environ['RS_SECRET']}".encode()).decode()


def introspect(token: str) -> dict:
    body = urllib.parse.urlencode({"token": token}).encode()
    req = urllib.request.Request(f"{ISSUER}/introspect", data=body, headers={"Authorization": f"Basic {BASIC}"})
    with urllib.request.urlopen(req, timeout=10) as reply:
        return json.loads(reply.read())


class IntrospectionVerifier:
    async def verify_token(self, token: str) -> AccessToken | None:
        claims = await asyncio.to_thread(introspect, token)
        if not claims.get("active"):
            return None
        aud = claims.get("aud") or []
        return AccessToken(
            token=token,
            client_id=claims["client_id"],
            scopes=str(claims.get("scope", "")).split(),
            expires_at=claims.get("exp"),
            resource=RESOURCE if RESOURCE in aud else (aud[0] if aud else None),
            subject=claims.get("sub"),
            claims={"iss": claims.get("iss")},
        )


server = MCPServer(
    name="interop-python-mcp",
    token_verifier=IntrospectionVerifier(),
    auth=AuthSettings(
        issuer_url=ISSUER,
        resource_server_url=RESOURCE,
        required_scopes=["mcp_api"] if STRICT else None,
        validate_token_resource=STRICT,
    ),
)


@server.tool(description="Returns the signed-in user.")
def whoami() -> dict:
    token = get_access_token()
    return {"user": token.subject if token else None}


security = (
    TransportSecuritySettings(allowed_hosts=[f"127.0.0.1:{PORT}"], allowed_origins=[f"http://127.0.0.1:{PORT}"])
    if STRICT
    else TransportSecuritySettings(enable_dns_rebinding_protection=False)
)
app = server.streamable_http_app(transport_security=security)

if __name__ == "__main__":
    print(f"MCP server at {RESOURCE}", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=PORT, log_level="warning")
