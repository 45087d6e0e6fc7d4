-- An admin RPC writes one audit row that names its action (org.create with its first admin,
-- member.move_team, …). The triggers that audit direct edits of organizations and memberships
-- stay quiet while such an action runs, so that one action is one entry. The action marks its
-- transaction with a transaction-local setting; PostgREST sets only request.* settings and
-- exposes no way to set others, so an API caller cannot silence the triggers.

-- ## Marking the action
create or replace function private.begin_admin_action(action text) returns void
language sql volatile set search_path = ''
as $$
  select set_config('salespulse.admin_action', action, true)
$$;
comment on function private.begin_admin_action(text) is
  'Marks the transaction as running the audited admin action `action` until end_admin_action().';

create or replace function private.end_admin_action(
  action text, scope text, org_id uuid, target_type text, target_id text, before jsonb, after jsonb
) returns bigint
language plpgsql volatile security definer set search_path = ''
as $$
declare
  entry bigint := private.write_audit(action, scope, org_id, target_type, target_id, before, after);
begin
  perform set_config('salespulse.admin_action', '', true);
  return entry;
end
$$;
comment on function private.end_admin_action(text, text, uuid, text, text, jsonb, jsonb) is
  'Writes the action''s one audit entry and unmarks the transaction; returns the entry''s id.';

create or replace function private.in_admin_action() returns boolean
language sql stable set search_path = ''
as $$
  select coalesce(current_setting('salespulse.admin_action', true), '') <> ''
$$;
comment on function private.in_admin_action() is
  'True while an audited admin action runs in this transaction (its own entry covers its changes).';

revoke execute on function private.begin_admin_action(text),
  private.end_admin_action(text, text, uuid, text, text, jsonb, jsonb) from public;
grant execute on function private.in_admin_action() to authenticated, service_role;

-- ## The row triggers skip what an action audits itself
drop trigger organizations_audit on public.organizations;
create trigger organizations_audit after insert or update or delete on public.organizations
  for each row when (not private.in_admin_action())
  execute function private.audit_organization_change();

drop trigger memberships_audit on public.memberships;
create trigger memberships_audit after insert or update or delete on public.memberships
  for each row when (not private.in_admin_action())
  execute function private.audit_membership_change();
