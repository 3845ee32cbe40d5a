// oidc-provider (OpenID-certified), configured strictly for the gate: public clients with one
// exact callback, PKCE (S256 only) required, the code response type only, authorization_code and
// refresh_token grants only, refresh tokens rotated, revocation and introspection on, and JWT
// access tokens for the MCP resource only when the client names it (RFC 8707 resource indicators,
// no default: a client that leaves `resource` out gets no token the MCP server accepts, and any
// other resource is invalid_target). Logins go through its own
// development login and consent pages. PORT and MCP_RESOURCE come from the environment.
import Provider, { errors } from 'oidc-provider';
import * as jose from 'jose';

const port = Number(process.env.PORT);
const mcp = process.env.MCP_RESOURCE;
const issuer = `http://127.0.0.1:${port}`;
const key = await jose.generateKeyPair('ES256', { extractable: true });
const jwk = { ...(await jose.exportJWK(key.privateKey)), kid: 'hg-es256', alg: 'ES256', use: 'sig' };
const client = (id) => ({
  client_id: id,
  token_endpoint_auth_method: 'none',
  redirect_uris: ['https://agent.example.test/oauth/callback'],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  scope: 'openid offline_access mcp_api',
  id_token_signed_response_alg: 'ES256',
});
const provider = new Provider(issuer, {
  clients: [client('hg-agent'), client('hg-other')],
  responseTypes: ['code'],
  jwks: { keys: [jwk] },
  scopes: ['openid', 'offline_access', 'mcp_api'],
  pkce: { required: () => true },
  rotateRefreshToken: true,
  issueRefreshToken: async (ctx, c) => c.grantTypeAllowed('refresh_token'),
  findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
  ttl: { AccessToken: 600, AuthorizationCode: 60, RefreshToken: 3600, Grant: 3600, Interaction: 600, Session: 3600 },
  features: {
    devInteractions: { enabled: true },
    revocation: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => undefined,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource) => {
        if (resource !== mcp) throw new errors.InvalidTarget(`unknown resource ${resource}`);
        return { scope: 'mcp_api', audience: mcp, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } };
      },
    },
  },
});
provider.listen(port, '127.0.0.1', () => console.log(`oidc-provider at ${issuer}`));
