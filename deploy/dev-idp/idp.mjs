// A development OpenID Connect provider standing in for an institution's own (Entra ID,
// Okta, Keycloak...): node-oidc-provider, OpenID Certified, with its development sign-in
// pages (any password is accepted: never expose this). Used by `make up` and the tests.
//
//   node idp.mjs CONFIG.json
//
// CONFIG: { issuer, port, cookie_keys: [..], jwks: {keys: [private JWKs]},
//           access_token: {audience, alg, ttl_seconds},
//           clients: [{client_id, redirect_uris}], accounts_file }
// ACCOUNTS_FILE: {login: {email, name, groups: [..]}}, read again on each sign-in so people
// can be added while it runs (as an institution's directory grows).
// Access tokens are JWTs for the one resource (the institution's Telemachus services,
// RFC 8707), carrying the person's e-mail and groups, as IdPs are configured to do.
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const { audience, alg, ttl_seconds: accessTtl } = config.access_token;
const scope = 'openid email profile groups';
const accounts = () => JSON.parse(readFileSync(config.accounts_file, 'utf8'));

// The development sign-in page takes the login as the account id, so it is also `sub`
// here; a real IdP's `sub` is an opaque id, and nothing in Telemachus assumes otherwise.
function accountFor(id) {
  const person = accounts()[id];
  if (!person) return undefined;
  return {
    accountId: id,
    // Claims for the ID token and userinfo; `sub` is the IdP's stable id of the person.
    async claims() {
      return {
        sub: id,
        email: person.email,
        email_verified: true,
        name: person.name,
        groups: person.groups ?? [],
      };
    },
  };
}

const provider = new Provider(config.issuer, {
  clients: config.clients.map((client) => ({
    client_id: client.client_id,
    redirect_uris: client.redirect_uris,
    token_endpoint_auth_method: 'none', // public clients: the portal, the CLI (PKCE)
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    scope: `${scope} offline_access`,
  })),
  jwks: config.jwks,
  cookies: { keys: config.cookie_keys },
  findAccount: (ctx, id) => accountFor(id),
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups'],
  },
  scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'],
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => audience,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource) => {
        if (resource !== audience) throw new Error(`unknown resource ${resource}`);
        return {
          scope,
          audience,
          accessTokenTTL: accessTtl,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg } },
        };
      },
    },
  },
  extraTokenClaims: async (ctx, token) => {
    const person = accounts()[token.accountId];
    return person ? { email: person.email, groups: person.groups ?? [] } : undefined;
  },
  ttl: {
    AccessToken: accessTtl,
    AuthorizationCode: 60,
    IdToken: 3600,
    Interaction: 600,
    Session: 8 * 3600,
    Grant: 8 * 3600,
    RefreshToken: 8 * 3600,
  },
});
provider.proxy = true;

const server = provider.listen(config.port, '127.0.0.1', () => {
  console.log(`development IdP ${config.issuer} listening`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
