-- Support impersonation: a platform admin, in their own session, starts a read-only session as a
-- user for 15 minutes, giving a reason; admin-impersonate then signs the access token (claims
-- `impersonator` and `read_only`, which every write guard refuses). Starting checks the caller
-- and the target and writes the session and its audit entry in one transaction; ending is
-- recorded and audited the same way. Another platform admin is never impersonated, and an
-- impersonation token starts and ends nothing (it is read-only, and its user is no admin).

-- ## Sessions
create table public.impersonation_sessions (
  id uuid primary key default gen_random_uuid(),
  admin_id uuid not null references auth.users (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  reason text not null check (length(btrim(reason)) between 10 and 500),
  started_at timestamptz not null default now(),
  expires_at timestamptz not null,
  ended_at timestamptz,
  check (expires_at > started_at),
  check (admin_id <> user_id)
);
comment on table public.impersonation_sessions is
  'Read-only support sessions a platform admin opened as a user: who, whom, why, and for how long.';
comment on column public.impersonation_sessions.id is 'Identifier; the token carries it as `impersonation_id`.';
comment on column public.impersonation_sessions.admin_id is 'The platform admin impersonating.';
comment on column public.impersonation_sessions.user_id is 'The user impersonated.';
comment on column public.impersonation_sessions.reason is 'Why (ticket, request), 10 to 500 characters.';
comment on column public.impersonation_sessions.started_at is 'When it started.';
comment on column public.impersonation_sessions.expires_at is 'When its token expires.';
comment on column public.impersonation_sessions.ended_at is 'When the admin ended it, if before it expired.';
alter table public.impersonation_sessions enable row level security;
create index impersonation_sessions_admin_id_idx on public.impersonation_sessions (admin_id, started_at);
create index impersonation_sessions_user_id_idx on public.impersonation_sessions (user_id);

-- Read by platform admins (support reviews); written only by the two RPCs below.
create policy "platform admins read impersonation sessions" on public.impersonation_sessions
  for select to authenticated using ((select private.is_platform_admin()));

-- ## Start
create or replace function public.admin_start_impersonation(target uuid, reason text) returns jsonb
language plpgsql security definer set search_path = ''
as $$
declare
  me uuid := auth.uid();
  person auth.users;
  started public.impersonation_sessions;
  org uuid;
begin
  if not private.is_platform_admin() or private.is_read_only() then
    raise exception 'only a platform admin in their own session impersonates' using errcode = '42501';
  end if;
  if length(btrim(coalesce(reason, ''))) not between 10 and 500 then
    raise exception 'give the reason in 10 to 500 characters' using errcode = '22023';
  end if;
  select * into person from auth.users u where u.id = target;
  if not found then
    raise exception 'no user %', target using errcode = '22023';
  end if;
  if target = me or exists (select 1 from public.platform_admins a where a.user_id = target) then
    raise exception 'platform admins are never impersonated' using errcode = '42501';
  end if;
  insert into public.impersonation_sessions (admin_id, user_id, reason, expires_at)
  values (me, target, btrim(reason), now() + interval '15 minutes')
  returning * into started;
  select m.org_id into org from public.memberships m where m.user_id = target;
  perform private.write_audit('impersonation.start', 'user', org, 'user', target::text, null,
                              to_jsonb(started));
  return jsonb_build_object(
    'session', to_jsonb(started),
    'expires_at_unix', floor(extract(epoch from started.expires_at))::bigint,
    'user', jsonb_build_object('id', person.id, 'email', person.email,
                               'app_metadata', coalesce(person.raw_app_meta_data, '{}'),
                               'user_metadata', coalesce(person.raw_user_meta_data, '{}')));
end
$$;
comment on function public.admin_start_impersonation(uuid, text) is
  'Platform admins only, in their own session: opens a 15-minute read-only session as `target` '
  '(never another platform admin) for `reason`, audited as impersonation.start. Returns the session '
  'and the claims admin-impersonate signs.';

-- ## End
create or replace function public.admin_end_impersonation(session uuid) returns jsonb
language plpgsql security definer set search_path = ''
as $$
declare
  before public.impersonation_sessions;
  ended public.impersonation_sessions;
begin
  if not private.is_platform_admin() or private.is_read_only() then
    raise exception 'only a platform admin in their own session ends impersonations' using errcode = '42501';
  end if;
  select * into before from public.impersonation_sessions s
   where s.id = session and s.admin_id = auth.uid() for update;
  if not found then
    raise exception 'no impersonation session % of yours', session using errcode = '22023';
  end if;
  if before.ended_at is not null then
    return jsonb_build_object('session', to_jsonb(before), 'changed', false);
  end if;
  update public.impersonation_sessions s set ended_at = now() where s.id = session
  returning * into ended;
  perform private.write_audit('impersonation.end', 'user',
                              (select m.org_id from public.memberships m where m.user_id = ended.user_id),
                              'user', ended.user_id::text, to_jsonb(before), to_jsonb(ended));
  return jsonb_build_object('session', to_jsonb(ended), 'changed', true);
end
$$;
comment on function public.admin_end_impersonation(uuid) is
  'The platform admin who started an impersonation session ends it (from their own session), '
  'audited as impersonation.end; ending it again changes nothing.';

revoke execute on function public.admin_start_impersonation(uuid, text),
  public.admin_end_impersonation(uuid) from public, anon;
grant execute on function public.admin_start_impersonation(uuid, text),
  public.admin_end_impersonation(uuid) to authenticated;
