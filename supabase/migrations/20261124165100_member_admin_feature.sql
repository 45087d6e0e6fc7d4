-- Which enterprise admins administer their organization's members (list and search them, move
-- them between teams, change their roles): those whose plan includes the `member_admin` feature
-- (Team, Team annual and Enterprise in data/plans.yml; not Solo, a plan of one seat), or to whom
-- a platform admin grants it with a flag. Platform admins administer every organization. A
-- read-only or impersonation session administers nothing, and neither does a suspended
-- organization's admin (private.has_role reads active organizations only).

insert into public.features (key, description, default_value) values
  ('member_admin',
   'Enterprise admins administer their organization''s members: search them, move them between teams, change their roles.',
   'false')
on conflict (key) do nothing;

create or replace function private.administers_org(org uuid) returns boolean
language sql stable security definer set search_path = ''
as $$
  select not private.is_read_only() and (
    private.is_platform_admin()
    or (private.has_role(org, '{enterprise_admin}')
        and private.flag_value('member_admin', (select auth.uid())) = 'true'::jsonb))
$$;
comment on function private.administers_org(uuid) is
  'True when the caller, in their own session, administers the members of `org`: a platform admin, '
  'or its enterprise admin when member_admin resolves to true for them.';
grant execute on function private.administers_org(uuid) to authenticated, service_role;
