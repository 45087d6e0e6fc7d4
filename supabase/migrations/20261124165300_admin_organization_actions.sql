-- Platform admins create an organization with its first enterprise admin, and suspend or
-- reactivate one with a reason. One RPC per action, called with the admin's own token: it checks
-- the caller (a platform admin, not in a read-only or impersonation session) and writes the
-- action's one audit entry in the same transaction. A suspended organization's members are
-- refused at their next request (session_context() and the functions' access check); its data
-- stays untouched for the reactivation.

-- ## Create
create or replace function public.admin_create_org(
  org_name text, org_slug text, org_kind text, plan text, admin_email text
) returns jsonb
language plpgsql security definer set search_path = ''
as $$
declare
  first_admin auth.users;
  created public.organizations;
  after jsonb;
begin
  if not private.is_platform_admin() or private.is_read_only() then
    raise exception 'only a platform admin in their own session creates organizations'
      using errcode = '42501';
  end if;
  if not exists (select 1 from public.plans p where p.key = plan and p.active) then
    raise exception 'no active plan named %', plan using errcode = '22023';
  end if;
  select * into first_admin from auth.users u where lower(u.email) = lower(btrim(admin_email));
  if not found then
    return null;  -- the function answers 404: nobody signed up with that e-mail
  end if;

  perform private.begin_admin_action('org.create');
  insert into public.organizations (name, slug, kind, plan_key)
  values (btrim(org_name), org_slug, org_kind, plan)
  returning * into created;
  insert into public.memberships (org_id, user_id, role)
  values (created.id, first_admin.id, 'enterprise_admin');
  after := to_jsonb(created) || jsonb_build_object(
    'first_admin', jsonb_build_object('user_id', first_admin.id, 'email', first_admin.email));
  perform private.end_admin_action('org.create', 'org', created.id, 'organization', created.id::text,
                                   null, after);
  return jsonb_build_object('organization', to_jsonb(created), 'first_admin',
                            (after -> 'first_admin') || '{"role": "enterprise_admin"}'::jsonb);
end
$$;
comment on function public.admin_create_org(text, text, text, text, text) is
  'Platform admins only (own session): creates an organization on an active plan with the user '
  'of `admin_email` (signed up, in no organization) as its enterprise admin; one audit entry '
  'org.create. Null when no user has that e-mail.';
revoke execute on function public.admin_create_org(text, text, text, text, text) from public, anon;
grant execute on function public.admin_create_org(text, text, text, text, text) to authenticated;

-- ## Suspend and reactivate
create or replace function public.admin_set_org_status(
  org uuid, new_status public.org_status, reason text
) returns jsonb
language plpgsql security definer set search_path = ''
as $$
declare
  before public.organizations;
  after public.organizations;
  action text := case new_status when 'suspended' then 'org.suspend' else 'org.reactivate' end;
begin
  if not private.is_platform_admin() or private.is_read_only() then
    raise exception 'only a platform admin in their own session suspends or reactivates organizations'
      using errcode = '42501';
  end if;
  if new_status is null or coalesce(btrim(reason), '') = '' or length(reason) > 1000 then
    raise exception 'a status and a reason (1 to 1000 characters) are required' using errcode = '22023';
  end if;
  select * into before from public.organizations o where o.id = org for update;
  if not found then
    return null;  -- the function answers 404
  end if;
  if before.status = new_status then
    return jsonb_build_object('organization', to_jsonb(before), 'changed', false);
  end if;

  perform private.begin_admin_action(action);
  update public.organizations o
     set status = new_status,
         suspended_reason = case when new_status = 'suspended' then btrim(reason) end
   where o.id = org
  returning * into after;
  perform private.end_admin_action(action, 'org', org, 'organization', org::text, to_jsonb(before),
                                   to_jsonb(after) || jsonb_build_object('reason', btrim(reason)));
  return jsonb_build_object('organization', to_jsonb(after), 'changed', true);
end
$$;
comment on function public.admin_set_org_status(uuid, public.org_status, text) is
  'Platform admins only (own session): suspends or reactivates an organization, with a reason; '
  'one audit entry org.suspend or org.reactivate (before, after with the reason). Setting the '
  'status it has changes and audits nothing (changed: false); null when there is no such organization.';
revoke execute on function public.admin_set_org_status(uuid, public.org_status, text) from public, anon;
grant execute on function public.admin_set_org_status(uuid, public.org_status, text) to authenticated;
