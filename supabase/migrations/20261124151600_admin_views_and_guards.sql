-- The Supabase dashboard is where admins work: views for the common questions (they run with the
-- caller's rights, so a platform admin sees every organization and an enterprise admin their
-- own), and triggers so that a direct edit of an organization keeps its invariants and is
-- audited like the admin functions' edits.

-- ## Views
create view public.admin_users_by_org with (security_invoker = true) as
select o.id as org_id, o.name as org_name, o.status as org_status, o.plan_key,
       m.user_id, p.email, p.full_name, m.role, t.name as team_name, t.division,
       m.created_at as joined_at
  from public.memberships m
  join public.organizations o on o.id = m.org_id
  join public.profiles p on p.id = m.user_id
  left join public.teams t on t.id = m.team_id;
comment on view public.admin_users_by_org is
  'Users by organization and role, with team and division. Shows what the caller may read.';
comment on column public.admin_users_by_org.org_id is 'The organization.';
comment on column public.admin_users_by_org.org_name is 'Its name.';
comment on column public.admin_users_by_org.org_status is 'active or suspended.';
comment on column public.admin_users_by_org.plan_key is 'Its plan.';
comment on column public.admin_users_by_org.user_id is 'The member.';
comment on column public.admin_users_by_org.email is 'The member''s e-mail.';
comment on column public.admin_users_by_org.full_name is 'The member''s name.';
comment on column public.admin_users_by_org.role is 'The member''s role.';
comment on column public.admin_users_by_org.team_name is 'The member''s team, if any.';
comment on column public.admin_users_by_org.division is 'That team''s division.';
comment on column public.admin_users_by_org.joined_at is 'When the member joined.';

create view public.admin_organizations with (security_invoker = true) as
select o.id, o.name, o.slug, o.kind, o.plan_key, o.status, o.suspended_at,
       (select count(*) from public.memberships m where m.org_id = o.id) as members,
       coalesce(o.max_users, p.max_users) as seat_limit,
       (select count(*) from public.sims s where s.org_id = o.id and s.status = 'available') as own_sims,
       coalesce(o.max_sims, p.max_sims) as sim_limit,
       s.status as subscription_status, s.grace_until, o.created_at
  from public.organizations o
  join public.plans p on p.key = o.plan_key
  left join public.subscriptions s on s.org_id = o.id;
comment on view public.admin_organizations is
  'Organizations with plan, status, seats and SIMs used against their limits, and billing status.';
comment on column public.admin_organizations.id is 'The organization.';
comment on column public.admin_organizations.name is 'Its name.';
comment on column public.admin_organizations.slug is 'Its slug.';
comment on column public.admin_organizations.kind is 'individual, team or enterprise.';
comment on column public.admin_organizations.plan_key is 'Its plan.';
comment on column public.admin_organizations.status is 'active or suspended.';
comment on column public.admin_organizations.suspended_at is 'When it was suspended.';
comment on column public.admin_organizations.members is 'Members the caller can see (all of them for admins).';
comment on column public.admin_organizations.seat_limit is 'Seats allowed (override or plan).';
comment on column public.admin_organizations.own_sims is 'Available SIMs it owns.';
comment on column public.admin_organizations.sim_limit is 'SIMs allowed (override or plan).';
comment on column public.admin_organizations.subscription_status is 'Stripe subscription status, if subscribed.';
comment on column public.admin_organizations.grace_until is 'End of the grace period after a failed payment.';
comment on column public.admin_organizations.created_at is 'When it was created.';

create view public.admin_org_counts with (security_invoker = true) as
select plan_key, status, count(*) as organizations, sum(members) as members
  from public.admin_organizations
 group by plan_key, status;
comment on view public.admin_org_counts is 'How many organizations (and members) per plan and status.';
comment on column public.admin_org_counts.plan_key is 'The plan.';
comment on column public.admin_org_counts.status is 'active or suspended.';
comment on column public.admin_org_counts.organizations is 'Organizations on that plan in that status.';
comment on column public.admin_org_counts.members is 'Their members.';

-- The views are for people: anon reads nothing through them anyway (RLS), but needs no grant.
revoke all on public.admin_users_by_org, public.admin_organizations, public.admin_org_counts from anon;

-- ## Organization invariants for direct edits
create or replace function private.date_suspension() returns trigger
language plpgsql set search_path = ''
as $$
begin
  if new.status = 'suspended' and old.status is distinct from 'suspended' then
    new.suspended_at := coalesce(new.suspended_at, now());
  elsif new.status = 'active' then
    new.suspended_at := null;
    new.suspended_reason := null;
  end if;
  return new;
end
$$;
comment on function private.date_suspension() is
  'Trigger: suspending an organization dates the suspension; reactivating clears it.';
create trigger organizations_date_suspension before update of status on public.organizations
  for each row execute function private.date_suspension();

create or replace function private.audit_organization_change() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  watched text[] := array['plan_key', 'status', 'max_users', 'max_sims', 'kind'];
  before jsonb := to_jsonb(old);
  after jsonb := to_jsonb(new);
begin
  if tg_op = 'INSERT' then
    perform private.write_audit('org.create', 'org', new.id, 'organization', new.id::text, null, to_jsonb(new));
  elsif tg_op = 'DELETE' then
    perform private.write_audit('org.delete', 'org', old.id, 'organization', old.id::text, to_jsonb(old), null);
  elsif exists (select 1 from unnest(watched) c where before -> c is distinct from after -> c) then
    perform private.write_audit(
      case when new.status <> old.status then
             case new.status when 'suspended' then 'org.suspend' else 'org.reactivate' end
           else 'org.change_plan_or_limits' end,
      'org', new.id, 'organization', new.id::text, before, after);
  end if;
  return null;
end
$$;
comment on function private.audit_organization_change() is
  'Trigger: creating, deleting, suspending, reactivating or changing the plan or limits of an organization is audited, however it is done.';
create trigger organizations_audit after insert or update or delete on public.organizations
  for each row execute function private.audit_organization_change();

create or replace function private.audit_platform_admin_change() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  perform private.write_audit(
    case tg_op when 'INSERT' then 'platform_admin.grant' when 'DELETE' then 'platform_admin.revoke'
               else 'platform_admin.change' end,
    'global', null, 'platform_admin', coalesce(new.user_id, old.user_id)::text,
    case when tg_op <> 'INSERT' then to_jsonb(old) end,
    case when tg_op <> 'DELETE' then to_jsonb(new) end);
  return null;
end
$$;
comment on function private.audit_platform_admin_change() is
  'Trigger: granting or revoking platform admin is audited, however it is done.';
create trigger platform_admins_audit after insert or update or delete on public.platform_admins
  for each row execute function private.audit_platform_admin_change();

create or replace function private.audit_membership_change() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if tg_op = 'UPDATE' and (new.role, new.org_id, new.team_id) is not distinct from (old.role, old.org_id, old.team_id) then
    return null;
  end if;
  perform private.write_audit(
    case tg_op when 'INSERT' then 'member.add' when 'DELETE' then 'member.remove' else 'member.change' end,
    'user', coalesce(new.org_id, old.org_id), 'membership', coalesce(new.user_id, old.user_id)::text,
    case when tg_op <> 'INSERT' then to_jsonb(old) end,
    case when tg_op <> 'DELETE' then to_jsonb(new) end);
  return null;
end
$$;
comment on function private.audit_membership_change() is
  'Trigger: adding, removing, moving or re-roling a member is audited, however it is done.';
create trigger memberships_audit after insert or update or delete on public.memberships
  for each row execute function private.audit_membership_change();
