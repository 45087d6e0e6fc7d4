-- Seats are counted against what is paid for: an organization with a Stripe subscription has
-- as many seats as the subscription's quantity (the webhooks keep subscriptions.seats), never
-- more than its plan's max_users. A platform admin's override (organizations.max_users, audited)
-- still decides alone, as before. SIMs need nothing new: the webhooks keep organizations.plan_key
-- on the paid plan, whose max_sims private.enforce_sim_limit already counts against.
-- One function states the rule; the membership trigger and session_context() both use it, so the
-- database's refusal and the sign-in warning agree.

create or replace function private.org_seat_limit(org uuid) returns integer
language sql stable security definer set search_path = ''
as $$
  select coalesce(o.max_users, least(p.max_users, s.seats))
    from public.organizations o
    join public.plans p on p.key = o.plan_key
    left join public.subscriptions s on s.org_id = o.id and s.stripe_subscription_id is not null
   where o.id = org
$$;
comment on function private.org_seat_limit(uuid) is
  'An organization''s seat limit: its override, else the plan''s max_users capped by the seats its '
  'Stripe subscription pays for.';
revoke execute on function private.org_seat_limit(uuid) from public, anon;
grant execute on function private.org_seat_limit(uuid) to authenticated, service_role;

create or replace function private.enforce_seat_limit() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  seat_limit integer;
  seats integer;
begin
  perform 1 from public.organizations where id = new.org_id for update;  -- serialises joins of one org
  seat_limit := private.org_seat_limit(new.org_id);
  select count(*) into seats from public.memberships where org_id = new.org_id;
  if seats >= seat_limit then
    raise exception 'organization % has no free seat (limit %)', new.org_id, seat_limit
      using errcode = 'check_violation', hint = 'Buy more seats, upgrade the plan or remove a member.';
  end if;
  return new;
end
$$;
comment on function private.enforce_seat_limit() is
  'Trigger: refuses a membership beyond the organization''s seat limit (private.org_seat_limit: '
  'override, or plan capped by the paid seats).';

-- ## The caller's context
create or replace function public.session_context() returns jsonb
language plpgsql stable security definer set search_path = ''
as $$
declare
  me uuid := auth.uid();
  profile public.profiles;
  staff boolean;
  member public.memberships;
  org public.organizations;
  plan jsonb;
  seat_limit integer;
  sim_limit integer;
  members integer;
  own_sims integer;
  my_seat integer;
  standing text;
  team_ids jsonb := '[]';
  conditions text[] := '{}';
  access_mode text := 'full';
  reason text;
begin
  select * into profile from public.profiles where id = me;
  if me is null or not found then
    raise exception 'session_context needs a signed-in user'
      using errcode = 'insufficient_privilege';
  end if;
  staff := exists (select 1 from public.platform_admins where user_id = me);

  select * into member from public.memberships where user_id = me;
  if found then
    select * into org from public.organizations where id = member.org_id;
    select jsonb_build_object('key', p.key, 'name', p.name), private.org_seat_limit(org.id),
           coalesce(org.max_sims, p.max_sims)
      into plan, seat_limit, sim_limit
      from public.plans p where p.key = org.plan_key;
    select count(*) into members from public.memberships where org_id = org.id;
    select count(*) into own_sims from public.sims where org_id = org.id and status = 'available';
    plan := plan || jsonb_build_object('max_users', seat_limit, 'max_sims', sim_limit,
                                       'users', members, 'sims', own_sims);
    select seat into my_seat from (
      select m.user_id, row_number() over (
               order by m.role = 'enterprise_admin' desc, m.created_at, m.user_id) as seat
        from public.memberships m where m.org_id = org.id) seats
     where user_id = me;
    select private.subscription_standing(s.status, s.grace_until) into standing
      from (select 1) one left join public.subscriptions s on s.org_id = org.id;
    select coalesce(jsonb_agg(id order by id), '[]') into team_ids from (
      select member.team_id as id where member.team_id is not null
      union
      select tm.team_id from public.team_managers tm where tm.user_id = me
      union
      select t.id from public.teams t
       where t.org_id = org.id and member.role in ('enterprise_admin', 'enterprise_tm')) teams;

    conditions := array_remove(array[
      case when org.status = 'suspended' then 'org_suspended' end,
      case when members > seat_limit then 'seat_limit_exceeded' end,
      case when standing = 'lapsed' then 'payment_required' end,
      case when standing = 'in_grace' then 'payment_failed_in_grace' end,
      case when own_sims > sim_limit then 'sim_limit_exceeded' end], null);

    if staff then
      null;  -- platform admins are never locked out
    elsif org.status = 'suspended' then
      access_mode := 'refused'; reason := 'org_suspended';
    elsif my_seat > seat_limit and member.role <> 'enterprise_admin' then
      access_mode := 'refused'; reason := 'seat_limit_exceeded';
    elsif standing = 'lapsed' then
      access_mode := 'read_only'; reason := 'payment_required';
    end if;
  end if;

  return jsonb_build_object(
    'user', jsonb_build_object('id', profile.id, 'email', profile.email,
                               'display_name', profile.full_name, 'time_zone', profile.time_zone),
    'platform_admin', staff,
    'role', member.role,
    'org', case when org.id is not null
                then jsonb_build_object('id', org.id, 'name', org.name, 'status', org.status) end,
    'teams', team_ids,
    'plan', plan,
    'flags', (select coalesce(jsonb_object_agg(f.key, f.value), '{}')
                from public.resolved_feature_flags() f),
    'access', jsonb_build_object('mode', access_mode, 'reason', reason,
                                 'warnings', to_jsonb(array_remove(conditions, reason))));
end
$$;
comment on function public.session_context() is
  'The caller''s session context (issue 5): user, platform_admin, role, org, teams, plan with its '
  'limits and use, resolved flags, and access {mode full|read_only|refused, reason, warnings}. '
  'What the sign-in functions call with the fresh access token; rules in its migration and README.';
revoke execute on function public.session_context() from public, anon;
grant execute on function public.session_context() to authenticated;
