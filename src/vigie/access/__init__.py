"""The partner space: who is asking (accounts, organisations, sessions, API tokens) and what they may see.

Pieces, one job each:
- `schema`: the access store — its tables, where it lives, how it is opened (read-write, beside the read-only
  warehouse);
- `passwords`: argon2id hashes; `ratelimit`: login attempts slowed per account and per IP;
- `accounts`: organisations, users, memberships (roles `partner`, `editor`; the `admin` flag);
- `identity`: the `IdentityProvider` seam (local passwords now; single sign-on by configuration later);
- `sessions`: server-side sessions, their cookie and the CSRF tokens; `tokens`: personal API tokens;
- `policy`: the ONE visibility rule (public / restricted to listed organisations / private to the agency);
- `audit`: the audit log; `service`: ties them together for the web app (`viewer` dependency);
- `web`, `cli`, `demo`: the pages and JSON API, `vigie users …`, the demo accounts.
"""
