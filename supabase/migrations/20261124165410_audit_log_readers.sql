-- Who reads the audit log: platform admins everything, enterprise admins their organization's
-- entries, each in their own session only. An impersonation session sees no entry: support
-- staff act as a customer to see what the customer sees, and the log is no customer view.
-- may_read_audit_log() tells a function whether to answer 403 before it reads.

-- ## Policies
drop policy "platform admins read the whole audit log" on public.audit_log;
drop policy "enterprise admins read their organization's entries" on public.audit_log;

create policy "platform admins read the whole audit log in their own session" on public.audit_log
  for select to authenticated
  using ((select private.is_platform_admin()) and (select private.impersonator()) is null);
create policy "enterprise admins read their organization's entries in their own session"
  on public.audit_log for select to authenticated
  using (org_id in (select private.org_ids_with_role('{enterprise_admin}'))
         and (select private.impersonator()) is null);

-- ## The question a function asks first
create or replace function public.may_read_audit_log(organization uuid default null)
returns boolean
language sql stable set search_path = ''
as $$
  select (select private.impersonator()) is null
     and ((select private.is_platform_admin())
          or (organization is null
              and exists (select 1 from private.org_ids_with_role('{enterprise_admin}')))
          or organization in (select private.org_ids_with_role('{enterprise_admin}')))
$$;
comment on function public.may_read_audit_log(uuid) is
  'True when the caller, in their own session, reads audit entries: of `organization` when given, else of any organization. The policies decide row by row; this lets a function refuse with 403 instead of answering nothing.';
revoke execute on function public.may_read_audit_log(uuid) from public, anon;
grant execute on function public.may_read_audit_log(uuid) to authenticated;
