-- What Mailgun reported about the e-mails we sent, one row per event: delivered, failed
-- (severity temporary: Mailgun tries again; permanent: it gave up), complained (the recipient
-- marked it as spam) and unsubscribed (Mailgun's unsubscribe link). Only record_mailgun_event()
-- writes it, for the mailgun-webhook function (service role, no user is calling); platform admins
-- read it for support. Nobody else reads it: a recipient's address and a server's answer are not
-- for their organization's admins. Keep it 90 days (the retention job's registry, where it exists).

create table public.email_delivery_events (
  id bigint generated always as identity primary key,
  mailgun_event_id text not null check (length(mailgun_event_id) between 1 and 200),
  occurred_at timestamptz not null,
  event text not null check (event in ('delivered', 'failed', 'complained', 'unsubscribed')),
  severity text check (severity in ('permanent', 'temporary')),
  recipient text not null
    check (recipient = lower(btrim(recipient)) and recipient like '_%@_%' and length(recipient) <= 320),
  reason text not null default '' check (length(reason) <= 200),
  detail text not null default '' check (length(detail) <= 1000),
  batch_id uuid,
  message_id text check (length(message_id) <= 500),
  received_at timestamptz not null default now(),
  constraint only_failures_have_a_severity check ((event = 'failed') = (severity is not null)),
  -- Mailgun's ids are unique within a day only; with the event's own time they name one event.
  constraint email_delivery_events_mailgun_event_key unique (mailgun_event_id, occurred_at)
);
comment on table public.email_delivery_events is
  'Delivery events Mailgun reported (delivered, failed, complained, unsubscribed), written by record_mailgun_event(). Platform admins read them.';
comment on column public.email_delivery_events.id is 'Identifier, in the order events were recorded.';
comment on column public.email_delivery_events.mailgun_event_id is 'Mailgun''s event id (event-data.id).';
comment on column public.email_delivery_events.occurred_at is 'When it happened, by Mailgun''s clock (event-data.timestamp).';
comment on column public.email_delivery_events.event is 'delivered, failed, complained or unsubscribed.';
comment on column public.email_delivery_events.severity is 'For failures: permanent (Mailgun gave up) or temporary (it retries). Null otherwise.';
comment on column public.email_delivery_events.recipient is 'The address, trimmed and lower-cased.';
comment on column public.email_delivery_events.reason is 'Mailgun''s short reason of a failure (bounce, suppress-bounce, generic, …); empty when none.';
comment on column public.email_delivery_events.detail is 'The receiving server''s answer (SMTP code and message); empty when none.';
comment on column public.email_delivery_events.batch_id is 'The outbox row the e-mail was sent for (user variable salespulse_batch_id), when it named one.';
comment on column public.email_delivery_events.message_id is 'The e-mail''s Message-Id.';
comment on column public.email_delivery_events.received_at is 'When the webhook recorded it (retention counts from here).';
alter table public.email_delivery_events enable row level security;

create index email_delivery_events_recipient_idx on public.email_delivery_events (recipient, occurred_at);
create index email_delivery_events_batch_id_idx on public.email_delivery_events (batch_id)
  where batch_id is not null;
create index email_delivery_events_received_at_idx on public.email_delivery_events (received_at);

revoke all on public.email_delivery_events from anon, authenticated;
grant select on public.email_delivery_events to authenticated;
grant all on public.email_delivery_events to service_role;

create policy "platform admins read e-mail delivery events" on public.email_delivery_events
  for select to authenticated using ((select private.is_platform_admin()));
