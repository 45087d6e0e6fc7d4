-- Plan enforcement at sign-in (issue 5): `session_context()` tells the sign-in functions, with
-- the user's fresh access token, who the caller is (user, role, organization, teams, plan and
-- its use, resolved flags) and what access this session gets: full, read_only or refused, with
-- the reason and the warnings the frontend shows. The rules, in order of precedence:
--
--   platform admin                          full, whatever else holds (conditions as warnings)
--   organization suspended                  refused, org_suspended
--   seat beyond the limit, not an
--     enterprise admin                      refused, seat_limit_exceeded
--   subscription lapsed (see below)         read_only, payment_required
--   otherwise                               full
--
-- Every other condition of the organization is a warning: seat_limit_exceeded (more members
-- than the limit), sim_limit_exceeded (more available SIMs than the limit), payment_required,
-- payment_failed_in_grace, org_suspended. A user without a membership (signed up, not yet
-- onboarded) gets full access with org, role and plan null.
--
-- Seats are counted at sign-in only: seats go to enterprise admins first, then to the other
-- members in the order they joined (ties by user id), so the latest joiners are the ones beyond
-- the limit and an admin always gets in to fix it. The database already refuses a new member
-- beyond the limit (private.enforce_seat_limit) and a new SIM beyond its limit
-- (private.enforce_sim_limit); an organization goes over when its plan or override shrinks.

-- ## Subscription standing
create or replace function private.subscription_standing(status text, grace_until timestamptz)
returns text
language plpgsql stable set search_path = ''
as $$
begin
  if status is null or status in ('active', 'trialing', 'incomplete') then
    return 'paid';
  elsif grace_until > now() or (status = 'past_due' and grace_until is null) then
    return 'in_grace';
  end if;
  return 'lapsed';
end
$$;
comment on function private.subscription_standing(text, timestamptz) is
  'paid, in_grace or lapsed, from a subscription''s Stripe status and grace_until (null status: no '
  'subscription row, paid). Lapsed: past_due or unpaid with the grace over, unpaid without grace, '
  'canceled, incomplete_expired or paused (no paid plan in force) unless grace_until is still ahead. '
  'past_due without grace_until is in grace (Stripe is still retrying).';
grant execute on function private.subscription_standing(text, timestamptz) to authenticated, service_role;

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
    select jsonb_build_object('key', p.key, 'name', p.name), coalesce(org.max_users, p.max_users),
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
