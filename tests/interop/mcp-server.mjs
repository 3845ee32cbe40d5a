// An MCP server on the official TypeScript SDK, protected by the SDK's bearer-auth middleware and
// metadata router, accepting the access tokens of the oidc-provider beside it: JWTs for this
// resource, checked for signature, issuer, audience, scope and expiry, as the SDK's examples do.
// Sessions as the SDK keeps them; a foreign Origin is refused.
import express from 'express';
import { randomUUID } from 'node:crypto';
import * as jose from 'jose';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import { mcpAuthMetadataRouter, getOAuthProtectedResourceMetadataUrl } from '@modelcontextprotocol/sdk/server/auth/router.js';
import { InvalidTokenError } from '@modelcontextprotocol/sdk/server/auth/errors.js';

const port = Number(process.env.PORT);
const issuer = process.env.ISSUER;
const resource = new URL(`http://127.0.0.1:${port}/mcp`);
const oauthMetadata = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
const jwks = jose.createRemoteJWKSet(new URL(oauthMetadata.jwks_uri));

const verifier = {
  async verifyAccessToken(token) {
    let payload;
    try {
      ({ payload } = await jose.jwtVerify(token, jwks, { issuer, audience: resource.href }));
    } catch (e) {
      throw new InvalidTokenError(`the token does not verify: ${e.code ?? 'invalid'}`);
    }
    return { token, clientId: payload.client_id, scopes: String(payload.scope ?? '').split(' '), expiresAt: payload.exp, resource: new URL(resource.href), extra: { sub: payload.sub } };
  },
};

function server(auth) {
  const s = new McpServer({ name: 'interop-mcp-server', version: '1.0.0' });
  // Not Salesforce's getUserInfo: the target file says which tool tells who the caller is.
  s.registerTool('whoami', { description: 'Returns the signed-in user.', annotations: { readOnlyHint: true } }, async (extra) => {
    const who = { user: extra.authInfo?.extra?.sub };
    return { content: [{ type: 'text', text: JSON.stringify(who) }], structuredContent: who };
  });
  return s;
}

const app = express();
app.use(express.json());
app.use(mcpAuthMetadataRouter({ oauthMetadata, resourceServerUrl: resource, scopesSupported: ['mcp_api'] }));
const bearer = requireBearerAuth({ verifier, requiredScopes: ['mcp_api'], resourceMetadataUrl: getOAuthProtectedResourceMetadataUrl(resource) });
const sessions = new Map();
const transportOptions = { enableDnsRebindingProtection: true, allowedHosts: [`127.0.0.1:${port}`], allowedOrigins: [`http://127.0.0.1:${port}`] };
app.all('/mcp', bearer, async (req, res) => {
  const id = req.headers['mcp-session-id'];
  let transport = id ? sessions.get(id) : undefined;
  if (!transport && !id && req.method === 'POST' && req.body?.method === 'initialize') {
    transport = new StreamableHTTPServerTransport({ ...transportOptions, sessionIdGenerator: () => randomUUID(), onsessioninitialized: (sid) => sessions.set(sid, transport) });
    transport.onclose = () => transport.sessionId && sessions.delete(transport.sessionId);
    await server().connect(transport);
  } else if (!transport) {
    const status = id ? 404 : 400;
    return res.status(status).json({ jsonrpc: '2.0', error: { code: -32000, message: id ? 'Session not found' : 'Bad Request: no session id' }, id: null });
  }
  await transport.handleRequest(req, res, req.body);
});
app.listen(port, '127.0.0.1', () => console.log(`MCP server at ${resource.href}`));
