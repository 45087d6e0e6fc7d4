-- Admins move a member to another team or change their role (platform admins anywhere, an
-- enterprise admin in their own organization when their plan allows: private.administers_org),
-- and platform admins move a member to another organization. One RPC per action, called with the
-- admin's own token; each checks the caller and writes the action's one audit entry in the same
-- transaction. The database's own rules still hold: the seat limit (enforce_seat_limit), an
-- organization keeps an enterprise admin (keep_an_enterprise_admin), a team belongs to the
-- member's organization.
--
-- Moving to another organization moves the membership only. What the member recorded before
-- (goals, activities, KPIs, notes) keeps the organization it was recorded in, as every
-- member-owned row does (set_member_org): the old organization's past figures stay whole, and
-- what the member logs from now on counts for the new one. Their team manager assignments in the
-- old organization end.

-- ## The member an admin acts on
create or replace function private.member_for_admin(member uuid) returns public.memberships
language plpgsql security definer set search_path = ''
as $$
declare
  found_member public.memberships;
begin
  if private.is_read_only()
     or not (private.is_platform_admin()
             or exists (select 1 from private.org_ids_with_role('{enterprise_admin}'))) then
    raise exception 'only platform admins and enterprise admins in their own session administer members'
      using errcode = '42501';
  end if;
  select * into found_member from public.memberships m where m.user_id = member for update;
  if found and not private.administers_org(found_member.org_id) then
    raise exception 'you do not administer this member''s organization' using errcode = '42501';
  end if;
  return found_member;  -- all nulls when there is no such member
end
$$;
comment on function private.member_for_admin(uuid) is
  'The membership of `member`, locked, once the caller may administer it (42501 otherwise); '
  'a row of nulls when `member` belongs to no organization.';

-- ## Team
create or replace function public.admin_move_member_to_team(member uuid, team uuid) returns jsonb
language plpgsql security definer set search_path = ''
as $$
declare
  before public.memberships := private.member_for_admin(member);
  after public.memberships;
begin
  if before.user_id is null then
    return null;
  end if;
  if team is not null and not exists (
    select 1 from public.teams t where t.id = team and t.org_id = before.org_id
  ) then
    raise exception 'team % is not a team of the member''s organization', team using errcode = '22023';
  end if;
  if before.team_id is not distinct from team then
    return jsonb_build_object('member', to_jsonb(before), 'changed', false);
  end if;
  perform private.begin_admin_action('member.move_team');
  update public.memberships m set team_id = team where m.user_id = member returning * into after;
  perform private.end_admin_action('member.move_team', 'user', after.org_id, 'membership',
                                   member::text, to_jsonb(before), to_jsonb(after));
  return jsonb_build_object('member', to_jsonb(after), 'changed', true);
end
$$;
comment on function public.admin_move_member_to_team(uuid, uuid) is
  'Admins of the member''s organization: moves the member to a team of that organization (null: '
  'no team); one audit entry member.move_team. Null when `member` is in no organization.';

-- ## Role
create or replace function public.admin_set_member_role(member uuid, new_role public.org_role) returns jsonb
language plpgsql security definer set search_path = ''
as $$
declare
  before public.memberships := private.member_for_admin(member);
  after public.memberships;
begin
  if before.user_id is null then
    return null;
  end if;
  if new_role is null then
    raise exception 'a role is required' using errcode = '22023';
  end if;
  if before.role = new_role then
    return jsonb_build_object('member', to_jsonb(before), 'changed', false);
  end if;
  perform private.begin_admin_action('member.change_role');
  update public.memberships m set role = new_role where m.user_id = member returning * into after;
  perform private.end_admin_action('member.change_role', 'user', after.org_id, 'membership',
                                   member::text, to_jsonb(before), to_jsonb(after));
  return jsonb_build_object('member', to_jsonb(after), 'changed', true);
end
$$;
comment on function public.admin_set_member_role(uuid, public.org_role) is
  'Admins of the member''s organization: gives the member another role (the last enterprise admin '
  'keeps theirs); one audit entry member.change_role. Null when `member` is in no organization.';

-- ## Organization
create or replace function public.admin_move_member_to_org(
  member uuid, org uuid, team uuid default null, new_role public.org_role default 'rep'
) returns jsonb
language plpgsql security definer set search_path = ''
as $$
declare
  before public.memberships;
  after public.memberships;
begin
  if not private.is_platform_admin() or private.is_read_only() then
    raise exception 'only a platform admin in their own session moves members between organizations'
      using errcode = '42501';
  end if;
  before := private.member_for_admin(member);
  if before.user_id is null or not exists (select 1 from public.organizations o where o.id = org) then
    return null;
  end if;
  if before.org_id = org then
    raise exception 'the member already belongs to this organization: move their team instead'
      using errcode = '22023';
  end if;
  if new_role is null then
    raise exception 'a role is required' using errcode = '22023';
  end if;
  if team is not null and not exists (select 1 from public.teams t where t.id = team and t.org_id = org) then
    raise exception 'team % is not a team of organization %', team, org using errcode = '22023';
  end if;
  perform private.begin_admin_action('member.move_org');
  delete from public.team_managers tm where tm.user_id = member and tm.org_id = before.org_id;
  update public.memberships m
     set org_id = org, team_id = team, role = new_role
   where m.user_id = member
  returning * into after;
  -- The entry belongs to the organization the member left; `after` names the one they joined.
  perform private.end_admin_action('member.move_org', 'user', before.org_id, 'membership',
                                   member::text, to_jsonb(before), to_jsonb(after));
  return jsonb_build_object('member', to_jsonb(after), 'changed', true);
end
$$;
comment on function public.admin_move_member_to_org(uuid, uuid, uuid, public.org_role) is
  'Platform admins only (own session): moves a member to another organization (seat limit and '
  'last enterprise admin enforced), into `team` of it or none, with `new_role`; their team '
  'manager assignments end and their past records stay with the old organization. One audit '
  'entry member.move_org. Null when the member or the organization does not exist.';

revoke execute on function public.admin_move_member_to_team(uuid, uuid),
  public.admin_set_member_role(uuid, public.org_role),
  public.admin_move_member_to_org(uuid, uuid, uuid, public.org_role) from public, anon;
grant execute on function public.admin_move_member_to_team(uuid, uuid),
  public.admin_set_member_role(uuid, public.org_role),
  public.admin_move_member_to_org(uuid, uuid, uuid, public.org_role) to authenticated;
revoke execute on function private.member_for_admin(uuid) from public;
