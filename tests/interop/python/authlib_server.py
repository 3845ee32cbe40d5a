"""An OAuth 2.0 authorization server built the way Authlib's documentation builds one: Flask, the
Authlib grants and endpoints, and its SQLAlchemy models and helpers (integrations.sqla_oauth2)
on an in-memory SQLite database. Nothing here decides a protocol question Authlib decides.

MODE=strict follows Authlib's hardening knobs: PKCE required for public clients and S256 only,
refresh tokens rotated (the old one revoked), only the code and refresh grants.
MODE=lax is Authlib with its defaults and the legacy grants switched on, as a careless
deployment would be: PKCE optional with `plain` allowed, refresh tokens never rotated, and the
client also allowed the implicit and password grants.

Authlib has no RFC 8707 (resource indicators): the few lines that bind a token to the
`resource` the client named (its audience, which introspection reports as `aud`) are the one
piece of protocol written here, after RFC 8707 section 2. Users: any username, the password in
PASSWORD. Environment: PORT, MODE, RESOURCES (the MCP servers' URLs, comma-separated),
PASSWORD, RS_SECRET (the resource servers' introspection client `hg-rs`).
"""

import html
import os
import time
from urllib.parse import quote

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.integrations.sqla_oauth2 import (
    OAuth2AuthorizationCodeMixin,
    OAuth2ClientMixin,
    OAuth2TokenMixin,
    create_query_client_func,
    create_query_token_func,
    create_revocation_endpoint,
)
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidRequestError, OAuth2Error
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from flask import Flask, jsonify, redirect, request, session
from sqlalchemy import Column, Integer, String, Text, create_engine
from sqlalchemy.orm import declarative_base, scoped_session, sessionmaker
from sqlalchemy.pool import StaticPool

PORT = int(os.environ["PORT"])
STRICT = os.environ.get("MODE", "strict") == "strict"
RESOURCES = [r for r in os.environ["RESOURCES"].split(",") if r]
PASSWORD = os.environ["PASSWORD"]
ISSUER = f"http://127.0.0.1:{PORT}"
CALLBACK = "https://agent.example.test/oauth/callback"

engine = create_engine("sqlite://", connect_args={"check_same_thread": False}, poolclass=StaticPool)
db = scoped_session(sessionmaker(bind=engine))
Base = declarative_base()


class Client(Base, OAuth2ClientMixin):
    __tablename__ = "client"
    id = Column(Integer, primary_key=True)


class AuthorizationCode(Base, OAuth2AuthorizationCodeMixin):
    __tablename__ = "code"
    id = Column(Integer, primary_key=True)
    user_id = Column(String(120))
    resource = Column(Text, default="")  # RFC 8707: what the authorization request named


class Token(Base, OAuth2TokenMixin):
    __tablename__ = "token"
    id = Column(Integer, primary_key=True)
    user_id = Column(String(120))
    aud = Column(Text, default="")  # RFC 8707: the resources this token is for


class User:
    def __init__(self, name):
        self.name = name

    def get_user_id(self):
        return self.name


Base.metadata.create_all(engine)
GRANT_TYPES = ["authorization_code", "refresh_token"] + ([] if STRICT else ["implicit", "password"])
RESPONSE_TYPES = ["code"] + ([] if STRICT else ["token"])
for client_id in ("hg-agent", "hg-other"):
    c = Client(client_id=client_id, client_secret="")
    c.set_client_metadata(
        {
            "redirect_uris": [CALLBACK],
            "token_endpoint_auth_method": "none",
            "grant_types": GRANT_TYPES,
            "response_types": RESPONSE_TYPES,
            "scope": "mcp_api offline_access profile",
        }
    )
    db.add(c)
rs = Client(client_id="hg-rs", client_secret=os.environ["RS_SECRET"])
rs.set_client_metadata({"token_endpoint_auth_method": "client_secret_basic", "grant_types": [], "scope": ""})
db.add(rs)
db.commit()


def resources_named(form, default):
    """RFC 8707 section 2: every `resource` must be a resource this server knows (else
    invalid_target); a token request may only narrow what the authorization named."""
    named = form.getlist("resource") if hasattr(form, "getlist") else []
    for r in named:
        if r not in RESOURCES:
            raise OAuth2Error(description=f"unknown resource {r}", status_code=400, error="invalid_target")
    if default is not None and named and not set(named) <= set(default):
        raise OAuth2Error(description="resource not granted", status_code=400, error="invalid_target")
    return named or default or RESOURCES[:1]


def save_token(token, req):
    if req.grant_type == "refresh_token":
        aud = req.refresh_token.aud.split()
    elif req.grant_type == "authorization_code":
        aud = resources_named(req.form, req.authorization_code.resource.split())
    else:
        aud = resources_named(req.form, None)
    user = req.user.get_user_id() if req.user else None
    db.add(Token(client_id=req.client.client_id, user_id=user, aud=" ".join(aud), **token))
    db.commit()


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["none"]

    def save_authorization_code(self, code, req):
        resource = resources_named(req.args, None)
        db.add(
            AuthorizationCode(
                code=code,
                client_id=req.client.client_id,
                redirect_uri=req.payload.redirect_uri,
                scope=req.payload.scope,
                user_id=req.user.get_user_id(),
                code_challenge=req.payload.data.get("code_challenge"),
                code_challenge_method=req.payload.data.get("code_challenge_method"),
                resource=" ".join(resource),
            )
        )
        db.commit()

    def query_authorization_code(self, code, client):
        item = db.query(AuthorizationCode).filter_by(code=code, client_id=client.client_id).first()
        if item and not item.is_expired():
            return item

    def delete_authorization_code(self, authorization_code):
        db.delete(authorization_code)
        db.commit()

    def authenticate_user(self, authorization_code):
        return User(authorization_code.user_id)


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["none"]
    INCLUDE_NEW_REFRESH_TOKEN = STRICT

    def authenticate_refresh_token(self, refresh_token):
        item = db.query(Token).filter_by(refresh_token=refresh_token).first()
        if item and not item.refresh_token_revoked_at:
            self.request.refresh_token = item
            return item

    def authenticate_user(self, credential):
        return User(credential.user_id)

    def revoke_old_credential(self, credential):
        if STRICT:
            credential.refresh_token_revoked_at = int(time.time())
            db.commit()


class PasswordGrant(grants.ResourceOwnerPasswordCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["none"]

    def authenticate_user(self, username, password):
        return User(username) if password == PASSWORD else None


class ImplicitGrant(grants.ImplicitGrant):
    pass


query_token = create_query_token_func(db, Token)


class Introspection(IntrospectionEndpoint):
    def query_token(self, token, hint):
        return query_token(token, hint)

    def check_permission(self, token, client, req):
        return client.client_id == "hg-rs"

    def introspect_token(self, token):
        return {
            "active": True,
            "client_id": token.client_id,
            "token_type": token.token_type,
            "username": token.user_id,
            "sub": token.user_id,
            "scope": token.get_scope(),
            "aud": token.aud.split(),
            "iss": ISSUER,
            "exp": token.issued_at + token.expires_in,
            "iat": token.issued_at,
        }


Revocation = create_revocation_endpoint(db, Token)
# RFC 7009 section 2.1: public clients revoke their own tokens without a secret.
Revocation.CLIENT_AUTH_METHODS = ["none", "client_secret_basic"]

app = Flask(__name__)
app.secret_key = os.urandom(32)
app.config.update(OAUTH2_REFRESH_TOKEN_GENERATOR=True, OAUTH2_TOKEN_EXPIRES_IN={"authorization_code": 900, "refresh_token": 900})
server = AuthorizationServer(app, query_client=create_query_client_func(db, Client), save_token=save_token)
server.register_grant(AuthorizationCodeGrant, [CodeChallenge(required=STRICT)])
server.register_grant(RefreshTokenGrant)
if STRICT:
    CodeChallenge.SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
else:
    server.register_grant(PasswordGrant)
    server.register_grant(ImplicitGrant)
server.register_endpoint(Revocation)
server.register_endpoint(Introspection)


@app.teardown_appcontext
def close_session(_exc):
    db.remove()


@app.get("/.well-known/oauth-authorization-server")
def metadata():
    return jsonify(
        issuer=ISSUER,
        authorization_endpoint=f"{ISSUER}/authorize",
        token_endpoint=f"{ISSUER}/token",
        revocation_endpoint=f"{ISSUER}/revoke",
        introspection_endpoint=f"{ISSUER}/introspect",
        response_types_supported=RESPONSE_TYPES,
        grant_types_supported=GRANT_TYPES,
        code_challenge_methods_supported=CodeChallenge.SUPPORTED_CODE_CHALLENGE_METHOD,
        token_endpoint_auth_methods_supported=["none"],
        revocation_endpoint_auth_methods_supported=Revocation.CLIENT_AUTH_METHODS,
        introspection_endpoint_auth_methods_supported=["client_secret_basic"],
        scopes_supported=["mcp_api", "offline_access", "profile"],
    )


PAGE = "<!doctype html><html><head><title>{title}</title></head><body>{body}</body></html>"


@app.route("/login", methods=["GET", "POST"])
def login():
    back = request.values.get("next", "/")
    if not back.startswith("/authorize"):
        back = "/"
    if request.method == "POST":
        if request.form.get("password") == PASSWORD and request.form.get("username"):
            session["user"] = request.form["username"]
            return redirect(back)
    form = (
        f'<form method="post" action="/login"><input type="hidden" name="next" value="{html.escape(back)}">'
        '<input name="username" type="text"><input name="password" type="password">'
        '<input type="submit" value="Sign in"></form>'
    )
    return PAGE.format(title="Sign in", body=form)


@app.route("/authorize", methods=["GET", "POST"])
def authorize():
    user = session.get("user")
    if not user:
        return redirect("/login?next=" + quote(request.full_path, safe=""))
    try:
        grant = server.get_consent_grant(end_user=User(user))
    except OAuth2Error as error:
        # Authlib's own error response: a redirect to a verified callback, else a JSON error.
        return server.handle_error_response(None, error)
    if request.method == "GET":
        form = (
            f'<form method="post" action="{html.escape(request.full_path)}">'
            '<input type="submit" name="confirm" value="Allow"></form>'
        )
        return PAGE.format(title="Authorize", body=form)
    return server.create_authorization_response(grant_user=User(user), grant=grant)


@app.post("/token")
def token():
    return server.create_token_response()


@app.post("/revoke")
def revoke():
    return server.create_endpoint_response("revocation")


@app.post("/introspect")
def introspect():
    return server.create_endpoint_response("introspection")


@app.errorhandler(InvalidRequestError)
def invalid(error):
    return server.handle_error_response(None, error)


if __name__ == "__main__":
    print(f"authlib at {ISSUER}", flush=True)
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    # One request at a time: the SQLite session is shared, as in Authlib's single-process examples.
    app.run(host="127.0.0.1", port=PORT, threaded=False)
