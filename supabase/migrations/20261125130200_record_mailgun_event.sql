-- The mailgun-webhook function's one write, once it has checked the signature: the delivery's
-- token, the event and its effect in one transaction. Answers what happened:
--   token_reused  the token was accepted before (a replay, or Mailgun retrying a delivery whose
--                 answer it lost): nothing changes
--   duplicate     the same event came again under a new token: only the token is kept
--   suppressed    recorded, and the address now gets no more e-mail (a permanent failure or a
--                 complaint; the first reason stays when both come)
--   recorded      recorded; an unsubscribe also turns off the e-mail about new messages for the
--                 accounts with that address (they may turn it on again)
create or replace function public.record_mailgun_event(
  p_token text, p_signed_at bigint, p_event_id text, p_event text, p_severity text,
  p_recipient text, p_reason text, p_detail text, p_occurred_at double precision,
  p_batch_id uuid, p_message_id text)
returns text
language plpgsql security invoker set search_path = ''
as $$
declare
  recipient_address text := lower(btrim(p_recipient));
  suppression_reason text := case
    when p_event = 'complained' then 'complained'
    when p_event = 'failed' and p_severity = 'permanent' then 'bounced'
  end;
begin
  insert into public.mailgun_webhook_tokens (token, signed_at)
  values (p_token, to_timestamp(p_signed_at))
  on conflict (token) do nothing;
  if not found then
    return 'token_reused';
  end if;

  insert into public.email_delivery_events
    (mailgun_event_id, occurred_at, event, severity, recipient, reason, detail, batch_id, message_id)
  values (p_event_id, to_timestamp(p_occurred_at), p_event, p_severity, recipient_address,
          coalesce(p_reason, ''), coalesce(p_detail, ''), p_batch_id, p_message_id)
  on conflict on constraint email_delivery_events_mailgun_event_key do nothing;
  if not found then
    return 'duplicate';
  end if;

  if suppression_reason is not null then
    insert into public.email_suppressions (address, reason, detail)
    values (recipient_address, suppression_reason,
            left(concat_ws(': ', nullif(p_reason, ''), nullif(p_detail, '')), 1000))
    on conflict (address) do nothing;
    if found then
      return 'suppressed';
    end if;
  elsif p_event = 'unsubscribed' then
    insert into public.notification_preferences (user_id, email_on_message)
    select p.id, false from public.profiles p where lower(p.email) = recipient_address
    on conflict (user_id) do update set email_on_message = false;
  end if;
  return 'recorded';
end
$$;
comment on function public.record_mailgun_event(text, bigint, text, text, text, text, text, text, double precision, uuid, text) is
  'Records a verified Mailgun webhook delivery: its token (each accepted once), the event (once) '
  'and its effect (suppression, unsubscribe) in one transaction. Answers token_reused, duplicate, '
  'suppressed or recorded. Service role only (the mailgun-webhook function).';
revoke execute on function public.record_mailgun_event(text, bigint, text, text, text, text, text, text, double precision, uuid, text)
  from public, anon, authenticated;
grant execute on function public.record_mailgun_event(text, bigint, text, text, text, text, text, text, double precision, uuid, text)
  to service_role;
