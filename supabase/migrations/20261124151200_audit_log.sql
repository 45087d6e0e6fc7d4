-- The audit log: one row per admin action and flag change, written in the same transaction as
-- the change. Append-only for everyone, admins and the table owner included; only the service
-- role's retention job deletes old rows.

-- ## Table
create table public.audit_log (
  id bigint generated always as identity primary key,
  at timestamptz not null default now(),
  actor_id uuid,
  impersonator_id uuid,
  actor_role text not null,
  action text not null check (action ~ '^[a-z][a-z0-9_.]{1,99}$'),
  scope text not null check (scope in ('global', 'org', 'user')),
  org_id uuid,
  target_type text not null check (length(target_type) between 1 and 100),
  target_id text,
  before jsonb,
  after jsonb
);
comment on table public.audit_log is
  'Append-only record of admin actions and flag changes: who (and who impersonated), what, on what, before and after.';
comment on column public.audit_log.id is 'Order of the entries.';
comment on column public.audit_log.at is 'When (the transaction''s time).';
comment on column public.audit_log.actor_id is 'The user who acted (null for jobs and direct SQL).';
comment on column public.audit_log.impersonator_id is 'The platform admin impersonating the actor, if any.';
comment on column public.audit_log.actor_role is 'The database role that acted (authenticated, service_role, postgres…).';
comment on column public.audit_log.action is 'What happened, dotted snake case: org.suspend, flag.set, impersonation.start…';
comment on column public.audit_log.scope is 'global, org or user: how far the action reaches.';
comment on column public.audit_log.org_id is 'The organization concerned (no foreign key: entries outlive it).';
comment on column public.audit_log.target_type is 'The kind of thing acted on (table or concept).';
comment on column public.audit_log.target_id is 'Its identifier, as text.';
comment on column public.audit_log.before is 'State before, if any.';
comment on column public.audit_log.after is 'State after, if any.';
alter table public.audit_log enable row level security;
create index audit_log_org_id_at_idx on public.audit_log (org_id, at);
create index audit_log_at_idx on public.audit_log (at);
create index audit_log_actor_id_idx on public.audit_log (actor_id);
create index audit_log_action_idx on public.audit_log (action);

revoke insert, update, delete, truncate on public.audit_log from anon, authenticated;
revoke update, truncate on public.audit_log from service_role;

-- ## Append-only, whoever asks
create or replace function private.keep_audit_log_append_only() returns trigger
language plpgsql set search_path = ''
as $$
begin
  if tg_op = 'DELETE' and private.caller_role() = 'service_role' then
    return old;  -- the retention job
  end if;
  raise exception 'the audit log is append-only (% refused)', lower(tg_op)
    using errcode = 'insufficient_privilege';
end
$$;
comment on function private.keep_audit_log_append_only() is
  'Trigger: refuses every update, delete and truncate of audit_log except deletes by the service role.';
create trigger audit_log_append_only before update or delete on public.audit_log
  for each row execute function private.keep_audit_log_append_only();
create trigger audit_log_no_truncate before truncate on public.audit_log
  for each statement execute function private.keep_audit_log_append_only();

-- ## Writing entries
create or replace function private.write_audit(
  action text, scope text, org_id uuid, target_type text, target_id text,
  before jsonb default null, after jsonb default null
) returns bigint
language sql security definer set search_path = ''
as $$
  insert into public.audit_log
    (actor_id, impersonator_id, actor_role, action, scope, org_id, target_type, target_id, before, after)
  values (auth.uid(), private.impersonator(), private.caller_role(), action, scope, org_id,
          target_type, target_id, before, after)
  returning id
$$;
comment on function private.write_audit(text, text, uuid, text, text, jsonb, jsonb) is
  'Appends one audit entry for the current caller; returns its id. For triggers and admin functions.';
grant execute on function private.write_audit(text, text, uuid, text, text, jsonb, jsonb) to service_role;

-- ## Policies
create policy "platform admins read the whole audit log" on public.audit_log
  for select to authenticated using ((select private.is_platform_admin()));
create policy "enterprise admins read their organization's entries" on public.audit_log
  for select to authenticated
  using (org_id in (select private.org_ids_with_role('{enterprise_admin}')));
