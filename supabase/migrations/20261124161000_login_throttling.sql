-- Login throttling (issue 5): failure counters per account and per client address, kept in
-- Postgres so that every function instance sees the same counts. The sign-in function calls
-- `login_throttle_check` before the password grant and `login_throttle_record` after it, with the
-- service role: no user exists yet. Nobody else may call them or read the counters.
--
-- Rules (private.login_throttle_rules): a failure streak ends 15 minutes after its last failure
-- or the end of its lock, whichever is later (so sitting out a lock does not reset it). The 5th
-- failure of an account's streak locks the account for 1 minute, each further one doubles
-- the lock, up to 15 minutes; an address gets the same from its 20th failure. A success clears
-- the account's streak but not the address's, so one valid account does not launder guesses at
-- others. E-mails and addresses are stored only as keyed hashes (HMAC-SHA-256 under a random key
-- that never leaves the database), so an unknown e-mail never lands in a table as text and the
-- hashes cannot be reversed with a dictionary by whoever reads the counters.

create extension if not exists pgcrypto with schema extensions;

-- ## The hashing key
create table private.login_throttle_secret (
  singleton boolean primary key default true check (singleton),
  secret bytea not null default extensions.gen_random_bytes(32)
);
comment on table private.login_throttle_secret is
  'The random HMAC key for login throttle hashes, made once per database. Never exported.';
alter table private.login_throttle_secret enable row level security;
revoke all on private.login_throttle_secret from public;
insert into private.login_throttle_secret default values on conflict do nothing;

-- ## Counters
create table public.login_throttles (
  subject text not null check (subject in ('account', 'address')),
  key_hash bytea not null check (length(key_hash) = 32),
  failures integer not null check (failures > 0),
  last_failure_at timestamptz not null,
  locked_until timestamptz,
  primary key (subject, key_hash)
);
comment on table public.login_throttles is
  'Failed sign-ins per account and per client address (hashed), with the lock they earned. '
  'Service role only: written and read by login_throttle_record/check.';
comment on column public.login_throttles.subject is 'account (a normalized e-mail) or address (a client IP, IPv6 per /64).';
comment on column public.login_throttles.key_hash is 'HMAC-SHA-256 of the subject and its value; never the value itself.';
comment on column public.login_throttles.failures is 'Failures in the current streak.';
comment on column public.login_throttles.last_failure_at is 'The latest failure. The streak is over 15 minutes after it or after the lock, whichever is later.';
comment on column public.login_throttles.locked_until is 'No attempt before this time; null while under the threshold.';
alter table public.login_throttles enable row level security;
-- No policy: RLS refuses every API role. The service role bypasses RLS (retention, support).
revoke all on public.login_throttles from anon, authenticated;
create index login_throttles_last_failure_at_idx on public.login_throttles (last_failure_at);

-- ## Rules
create or replace function private.login_throttle_rules(
  subject text, out threshold integer, out streak interval, out first_lock interval,
  out longest_lock interval)
language sql immutable set search_path = ''
as $$
  select case subject when 'account' then 5 else 20 end,
         interval '15 minutes', interval '1 minute', interval '15 minutes'
$$;
comment on function private.login_throttle_rules(text) is
  'Throttle rules of a subject: failures that start the lock, how long a streak lasts, the first '
  'lock and the longest one (each failure past the threshold doubles the lock).';

create or replace function private.login_lock_until(subject text, failures integer, at timestamptz)
returns timestamptz
language sql immutable set search_path = ''
as $$
  select case when failures >= r.threshold then
           at + least(r.first_lock * power(2, least(failures - r.threshold, 20)), r.longest_lock)
         end
    from private.login_throttle_rules(subject) r
$$;
comment on function private.login_lock_until(text, integer, timestamptz) is
  'When the lock earned by `failures` failures at `at` ends, or null below the threshold.';

-- ## Keys
create or replace function private.login_throttle_keys(p_email text, p_ip text)
returns table (subject text, key_hash bytea)
language plpgsql stable security definer set search_path = ''
as $$
declare
  email text := lower(btrim(p_email));
  address text := nullif(btrim(p_ip), '');
  secret bytea;
begin
  if email is null or email = '' or length(email) > 320 then
    raise exception 'an e-mail of 1 to 320 characters is required'
      using errcode = 'invalid_parameter_value';
  end if;
  if length(address) > 100 then
    raise exception 'the client address is longer than 100 characters'
      using errcode = 'invalid_parameter_value';
  end if;
  -- An IPv6 client usually holds a whole /64: count the network, not the single address.
  begin
    address := case when family(address::inet) = 6 then host(network(set_masklen(address::inet, 64)))
                    else host(address::inet) end;
  exception when invalid_text_representation then
    address := lower(address);  -- not an IP (a proxy's placeholder): counted as given
  end;
  select s.secret into strict secret from private.login_throttle_secret s;
  subject := 'account';
  key_hash := extensions.hmac(convert_to('account:' || email, 'UTF8'), secret, 'sha256');
  return next;
  if address is not null then
    subject := 'address';
    key_hash := extensions.hmac(convert_to('address:' || address, 'UTF8'), secret, 'sha256');
    return next;
  end if;
end
$$;
comment on function private.login_throttle_keys(text, text) is
  'The counter keys of an attempt: the hashed normalized e-mail, and the hashed address if any. '
  'Refuses an empty or oversized e-mail (22023).';

create or replace function private.seconds_until(moment timestamptz, at timestamptz) returns integer
language sql immutable set search_path = ''
as $$
  select coalesce(greatest(ceil(extract(epoch from moment - at)), 0), 0)::integer
$$;
comment on function private.seconds_until(timestamptz, timestamptz) is
  'Whole seconds from `at` until `moment`, rounded up; 0 when it is past or null.';

-- ## Check and record, at a given time (the public functions pass now(); tests pass any time)
create or replace function private.login_throttle_check_at(p_email text, p_ip text, at timestamptz)
returns integer
language sql stable security definer set search_path = ''
as $$
  select coalesce(max(private.seconds_until(t.locked_until, at)), 0)::integer
    from private.login_throttle_keys(p_email, p_ip) k
    join public.login_throttles t on t.subject = k.subject and t.key_hash = k.key_hash
$$;
comment on function private.login_throttle_check_at(text, text, timestamptz) is
  'login_throttle_check at time `at`.';

create or replace function private.login_throttle_record_at(
  p_email text, p_ip text, p_succeeded boolean, at timestamptz)
returns integer
language plpgsql security definer set search_path = ''
as $$
declare
  k record;
  streak integer;
  address_wait integer;
  wait integer := 0;
begin
  if p_succeeded is null then
    raise exception 'p_succeeded is required' using errcode = 'invalid_parameter_value';
  end if;
  -- Always account before address: concurrent calls take the row locks in one order, no deadlock.
  for k in select * from private.login_throttle_keys(p_email, p_ip) order by subject loop
    if p_succeeded and k.subject = 'account' then
      delete from public.login_throttles where subject = k.subject and key_hash = k.key_hash;
      continue;
    elsif p_succeeded then
      -- a success leaves the address's streak (and any lock) as it is
      select private.seconds_until(t.locked_until, at) into address_wait
        from public.login_throttles t where t.subject = k.subject and t.key_hash = k.key_hash;
      wait := greatest(wait, coalesce(address_wait, 0));
      continue;
    end if;
    -- One statement per counter: parallel failures queue on the row lock and all count.
    insert into public.login_throttles as t (subject, key_hash, failures, last_failure_at, locked_until)
    values (k.subject, k.key_hash, 1, at, private.login_lock_until(k.subject, 1, at))
    on conflict (subject, key_hash) do update
      set failures = case when greatest(t.last_failure_at, t.locked_until)
                                 <= at - (private.login_throttle_rules(t.subject)).streak
                          then 1 else t.failures + 1 end,
          last_failure_at = greatest(t.last_failure_at, at)
    returning t.failures into streak;
    -- The row stays locked by the insert until commit, so this reads and writes our own count.
    update public.login_throttles t
       set locked_until = greatest(t.locked_until, private.login_lock_until(t.subject, streak, at))
     where t.subject = k.subject and t.key_hash = k.key_hash
    returning greatest(wait, private.seconds_until(t.locked_until, at)) into wait;
  end loop;
  -- Bounded pruning of streaks that are over: a row that would restart at one is as good as no
  -- row, so the table holds only the last half hour's failures without a separate job.
  delete from public.login_throttles t
   where (t.subject, t.key_hash) in (
     select s.subject, s.key_hash from public.login_throttles s
      where s.last_failure_at < at - interval '15 minutes'
        and (s.locked_until is null or s.locked_until < at - interval '15 minutes')
      limit 100 for update skip locked);
  return wait;
end
$$;
comment on function private.login_throttle_record_at(text, text, boolean, timestamptz) is
  'login_throttle_record at time `at`; also prunes up to 100 finished streaks.';

-- ## The API (service role only)
create or replace function public.login_throttle_check(p_email text, p_ip text) returns integer
language sql stable security definer set search_path = ''
as $$
  select private.login_throttle_check_at(p_email, p_ip, now())
$$;
comment on function public.login_throttle_check(text, text) is
  'Seconds the caller must wait before another sign-in attempt for this e-mail or from this '
  'address (0: go ahead). Service role only, called before the password grant.';

create or replace function public.login_throttle_record(p_email text, p_ip text, p_succeeded boolean)
returns integer
language sql security definer set search_path = ''
as $$
  select private.login_throttle_record_at(p_email, p_ip, p_succeeded, now())
$$;
comment on function public.login_throttle_record(text, text, boolean) is
  'Records the outcome of a sign-in attempt and returns the seconds to wait from now (0: none). '
  'A success clears the account''s failures, not the address''s. Service role only.';

revoke execute on function public.login_throttle_check(text, text),
  public.login_throttle_record(text, text, boolean) from public, anon, authenticated;
grant execute on function public.login_throttle_check(text, text),
  public.login_throttle_record(text, text, boolean) to service_role;
