-- The tokens of the Mailgun webhook deliveries already accepted. Mailgun signs only a delivery's
-- timestamp and token, not its event, so a signature is good for one delivery: a token seen
-- before is refused. record_mailgun_event() inserts the token in the same transaction as the
-- event it records, so a delivery that fails leaves no token and Mailgun's retry still passes.
-- The webhook refuses signatures older than 9 hours (shared::mail::webhook::MAX_AGE_SECONDS), so
-- a token may go once its signature is older than that; keep 10 hours for the margin.

create table public.mailgun_webhook_tokens (
  token text primary key check (length(token) between 1 and 200),
  signed_at timestamptz not null,
  received_at timestamptz not null default now()
);
comment on table public.mailgun_webhook_tokens is
  'Tokens of accepted Mailgun webhook deliveries: each is accepted once. Service role only, through record_mailgun_event().';
comment on column public.mailgun_webhook_tokens.token is 'The delivery''s signature token (signature.token).';
comment on column public.mailgun_webhook_tokens.signed_at is 'The signature''s timestamp; the token may be deleted 10 hours after it.';
comment on column public.mailgun_webhook_tokens.received_at is 'When the delivery was accepted.';
alter table public.mailgun_webhook_tokens enable row level security;
-- No policy: RLS refuses every API role. The service role bypasses RLS (the webhook, retention).
revoke all on public.mailgun_webhook_tokens from anon, authenticated;
grant all on public.mailgun_webhook_tokens to service_role;

create index mailgun_webhook_tokens_signed_at_idx on public.mailgun_webhook_tokens (signed_at);
