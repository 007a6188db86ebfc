/**
 * Migration 12: replay protection for signed webhooks (issue 14).
 * - `webhook_signatures`: every signature a webhook trigger accepted (`trigger` name, `signature` the
 *   lowercase hex HMAC, `seen_at` epoch ms). A second request with the same signature (an identical request
 *   replayed within the 5-minute timestamp window) is refused. Rows older than twice the window are pruned
 *   as new ones are written: a signature that old is refused by its timestamp anyway.
 */
export const migration012 = {
  version: 12,
  name: 'webhook signatures',
  sql: `
CREATE TABLE webhook_signatures (
  trigger   TEXT NOT NULL,
  signature TEXT NOT NULL,
  seen_at   INTEGER NOT NULL,
  PRIMARY KEY (trigger, signature)
) WITHOUT ROWID;
CREATE INDEX webhook_signatures_seen ON webhook_signatures (seen_at);
`,
};
