-- The e-mail tables join the retention registry (they were written beside it, in migrations
-- that sort before it). Suppressions are not expired: an address that bounced or complained stays
-- suppressed until support lifts it.
select private.register_retention('public.email_outbox', 'finished_at', interval '90 days',
  'Finished e-mail batches (sent, given up, suppressed, canceled) answer support''s questions for '
  '90 days; pending ones have no finished_at and are never matched.');
select private.register_retention('public.email_delivery_events', 'received_at', interval '90 days',
  'Mailgun''s delivery events are support''s history of an e-mail for 90 days.');
select private.register_retention('public.mailgun_webhook_tokens', 'signed_at', interval '10 hours',
  'A token only has to outlive the 9 hours a signature is accepted (shared::mail::webhook); past '
  'them a replay is refused as stale anyway.');
