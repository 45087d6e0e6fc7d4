-- E-mail about new messages. A message enqueues itself (trigger) into its recipient's open batch,
-- or opens one that is due `email_batch_minutes` later, so a burst of messages becomes one
-- e-mail. The dispatch job (`email-dispatch`, every minute, service role) claims due batches
-- with a lease, sends them through Mailgun and records the outcome: sent, a failed attempt with
-- its back-off, given up, suppressed (the address is in `email_suppressions`) or canceled (the
-- recipient turned e-mail off meanwhile). Mail never writes to `messages`: a failure here cannot
-- lose or duplicate a message.

-- ## The outbox
create table public.email_outbox (
  id uuid primary key default gen_random_uuid(),
  recipient_id uuid not null references auth.users (id) on delete cascade,
  status text not null default 'pending'
    check (status in ('pending', 'sent', 'given_up', 'suppressed', 'canceled')),
  message_count integer not null default 1 check (message_count >= 1),
  sender_ids uuid[] not null default '{}',
  first_message_at timestamptz not null default now(),
  last_message_at timestamptz not null default now(),
  next_attempt_at timestamptz not null,
  attempts smallint not null default 0 check (attempts >= 0),
  claimed_at timestamptz,
  lease_token uuid,
  lease_until timestamptz,
  last_error text check (length(last_error) <= 1000),
  mailgun_id text check (length(mailgun_id) <= 500),
  finished_at timestamptz,
  created_at timestamptz not null default now(),
  constraint a_finished_batch_says_when check ((status = 'pending') = (finished_at is null)),
  constraint a_sent_batch_was_attempted check (status <> 'sent' or attempts >= 1)
);
comment on table public.email_outbox is
  'E-mails about new messages, one batch per recipient and window; written by a trigger on messages and by the dispatch job.';
comment on column public.email_outbox.id is 'Identifier; sent to Mailgun as v:salespulse_batch_id and in the Message-Id.';
comment on column public.email_outbox.recipient_id is 'Who the e-mail goes to (the messages'' recipient).';
comment on column public.email_outbox.status is
  'pending (collecting or awaiting a send or retry), sent, given_up (too many failures or refused for good), suppressed (address on email_suppressions), canceled (e-mail turned off before the send).';
comment on column public.email_outbox.message_count is 'How many messages the e-mail announces.';
comment on column public.email_outbox.sender_ids is 'Who wrote them, in the order they first wrote.';
comment on column public.email_outbox.first_message_at is 'When the first message of the batch was sent.';
comment on column public.email_outbox.last_message_at is 'When the last message of the batch was sent.';
comment on column public.email_outbox.next_attempt_at is
  'When the batch is due: the end of its window, then after each failure the back-off.';
comment on column public.email_outbox.attempts is 'Send attempts that came back (sent or failed).';
comment on column public.email_outbox.claimed_at is
  'When the dispatch job first claimed it; from then on the batch takes no more messages, so a resend repeats the same e-mail.';
comment on column public.email_outbox.lease_token is 'The current claim; only its holder records the outcome.';
comment on column public.email_outbox.lease_until is 'Until when the current claim holds; an expired one (a crashed run) is claimed again.';
comment on column public.email_outbox.last_error is 'Why the last attempt failed (Mailgun''s answer), for support.';
comment on column public.email_outbox.mailgun_id is 'The id Mailgun gave the sent e-mail (its Message-Id).';
comment on column public.email_outbox.finished_at is 'When it left pending (retention counts from here).';
comment on column public.email_outbox.created_at is 'When the first message opened it.';
alter table public.email_outbox enable row level security;

-- One open batch per recipient: the one new messages join.
create unique index email_outbox_open_batch_idx on public.email_outbox (recipient_id)
  where status = 'pending' and claimed_at is null;
create index email_outbox_due_idx on public.email_outbox (next_attempt_at) where status = 'pending';
create index email_outbox_recipient_id_idx on public.email_outbox (recipient_id, created_at desc);
create index email_outbox_finished_at_idx on public.email_outbox (finished_at) where finished_at is not null;

-- Nobody writes the outbox through the API: the trigger and the service role's RPCs do.
revoke all on public.email_outbox from anon, authenticated;
grant select on public.email_outbox to authenticated;
grant all on public.email_outbox to service_role;

create policy "users read the e-mails announced to them" on public.email_outbox
  for select to authenticated
  using (recipient_id = (select auth.uid()));
create policy "platform admins read every e-mail batch" on public.email_outbox
  for select to authenticated
  using ((select private.is_platform_admin()));

-- ## Enqueueing
create or replace function private.enqueue_message_email() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  wanted boolean := true;
  window_minutes smallint := 15;
begin
  select p.email_on_message, p.email_batch_minutes into wanted, window_minutes
    from public.notification_preferences p where p.user_id = new.recipient_id;
  if not found then
    wanted := true;
    window_minutes := 15;
  end if;
  if wanted then
    insert into public.email_outbox as o
      (recipient_id, sender_ids, first_message_at, last_message_at, next_attempt_at)
    values (new.recipient_id, array[new.sender_id], new.created_at, new.created_at,
            new.created_at + make_interval(mins => window_minutes))
    on conflict (recipient_id) where status = 'pending' and claimed_at is null
    do update set
      message_count = o.message_count + 1,
      sender_ids = case when new.sender_id = any (o.sender_ids) then o.sender_ids
                        else o.sender_ids || new.sender_id end,
      last_message_at = greatest(o.last_message_at, excluded.last_message_at);
  end if;
  return null;
exception when others then
  -- The message matters more than its e-mail: it is kept, the database log says why no e-mail.
  raise warning 'no e-mail queued for message %: % (%)', new.id, sqlerrm, sqlstate;
  return null;
end
$$;
comment on function private.enqueue_message_email() is
  'Trigger: a new message joins its recipient''s open e-mail batch or opens one due after their batch window, unless they turned e-mail off.';
create trigger messages_enqueue_email after insert on public.messages
  for each row execute function private.enqueue_message_email();

-- ## Back-off
create or replace function private.email_max_attempts() returns integer
language sql immutable set search_path = ''
as $$ select 10 $$;
comment on function private.email_max_attempts() is
  'Attempts before a batch is given up: with the back-off below, about four hours of failures.';

create or replace function private.email_retry_delay(failed_attempts integer) returns interval
language sql immutable set search_path = ''
as $$
  select least(interval '1 minute' * power(2, least(greatest(failed_attempts, 1) - 1, 16)),
               interval '1 hour')
$$;
comment on function private.email_retry_delay(integer) is
  'Wait after the n-th failed attempt: 1, 2, 4, … minutes, at most an hour.';

-- ## The dispatch job's RPCs (service role only)
create or replace function public.claim_email_batches(
  p_limit integer default 50,
  p_lease_seconds integer default 300
) returns setof jsonb
language plpgsql security definer set search_path = ''
as $$
declare
  due uuid[];
begin
  if p_limit is null or p_limit not between 1 and 500
     or p_lease_seconds is null or p_lease_seconds not between 30 and 3600 then
    raise exception 'p_limit must be 1-500 and p_lease_seconds 30-3600' using errcode = '22023';
  end if;
  -- Skip locked rows (another run is claiming them) and leased ones (another run is sending).
  select array_agg(d.id) into due from (
    select o.id from public.email_outbox o
     where o.status = 'pending' and o.next_attempt_at <= now()
       and (o.lease_until is null or o.lease_until <= now())
     order by o.next_attempt_at
     limit p_limit
     for update skip locked
  ) d;
  if due is null then
    return;
  end if;

  update public.email_outbox o
     set status = 'suppressed', finished_at = now(), lease_token = null, lease_until = null
    from auth.users u
   where o.id = any (due) and u.id = o.recipient_id
     and exists (select 1 from public.email_suppressions s
                  where s.address = lower(btrim(u.email)));
  update public.email_outbox o
     set status = 'canceled', finished_at = now(), lease_token = null, lease_until = null
   where o.id = any (due) and o.status = 'pending'
     and exists (select 1 from public.notification_preferences p
                  where p.user_id = o.recipient_id and not p.email_on_message);
  update public.email_outbox o
     set status = 'given_up', finished_at = now(), lease_token = null, lease_until = null,
         last_error = 'the recipient has no e-mail address'
   where o.id = any (due) and o.status = 'pending'
     and not exists (select 1 from auth.users u
                      where u.id = o.recipient_id and coalesce(btrim(u.email), '') <> '');

  return query
  update public.email_outbox o
     set lease_token = gen_random_uuid(),
         lease_until = now() + make_interval(secs => p_lease_seconds),
         claimed_at = coalesce(o.claimed_at, now())
    from auth.users u
    left join public.profiles p on p.id = u.id
   where o.id = any (due) and o.status = 'pending' and u.id = o.recipient_id
  returning jsonb_build_object(
    'id', o.id,
    'lease_token', o.lease_token,
    'attempts', o.attempts,
    'recipient_email', btrim(u.email),
    'recipient_name', coalesce(p.full_name, ''),
    'message_count', o.message_count,
    'sender_names', array(
      select coalesce(nullif(btrim(sp.full_name), ''), sp.email)
        from unnest(o.sender_ids) with ordinality s (id, n)
        join public.profiles sp on sp.id = s.id
       order by s.n),
    'first_message_at', o.first_message_at);
end
$$;
comment on function public.claim_email_batches(integer, integer) is
  'Dispatch job: leases up to p_limit due batches for p_lease_seconds and answers what their e-mails need; ends suppressed, canceled and address-less ones without a send.';
revoke execute on function public.claim_email_batches(integer, integer) from public, anon, authenticated;
grant execute on function public.claim_email_batches(integer, integer) to service_role;

create or replace function public.record_email_sent(
  p_batch uuid,
  p_lease_token uuid,
  p_mailgun_id text
) returns boolean
language plpgsql security definer set search_path = ''
as $$
begin
  update public.email_outbox
     set status = 'sent', mailgun_id = left(p_mailgun_id, 500), attempts = attempts + 1,
         finished_at = now(), last_error = null, lease_token = null, lease_until = null
   where id = p_batch and lease_token = p_lease_token and status = 'pending';
  return found;
end
$$;
comment on function public.record_email_sent(uuid, uuid, text) is
  'Dispatch job: the leased batch was accepted by Mailgun under p_mailgun_id. False when the lease was lost.';
revoke execute on function public.record_email_sent(uuid, uuid, text) from public, anon, authenticated;
grant execute on function public.record_email_sent(uuid, uuid, text) to service_role;

create or replace function public.record_email_failure(
  p_batch uuid,
  p_lease_token uuid,
  p_error text,
  p_permanent boolean
) returns text
language plpgsql security definer set search_path = ''
as $$
declare
  outcome text;
begin
  update public.email_outbox
     set attempts = attempts + 1,
         last_error = left(coalesce(p_error, ''), 1000),
         lease_token = null, lease_until = null,
         status = case when p_permanent or attempts + 1 >= private.email_max_attempts()
                       then 'given_up' else 'pending' end,
         finished_at = case when p_permanent or attempts + 1 >= private.email_max_attempts()
                            then now() end,
         next_attempt_at = now() + private.email_retry_delay(attempts + 1)
   where id = p_batch and lease_token = p_lease_token and status = 'pending'
  returning status into outcome;
  return outcome;
end
$$;
comment on function public.record_email_failure(uuid, uuid, text, boolean) is
  'Dispatch job: the leased batch''s attempt failed; it is retried after the back-off, or given up when p_permanent or out of attempts. Answers the new status, null when the lease was lost.';
revoke execute on function public.record_email_failure(uuid, uuid, text, boolean) from public, anon, authenticated;
grant execute on function public.record_email_failure(uuid, uuid, text, boolean) to service_role;
