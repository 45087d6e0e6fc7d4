-- kpi_me in PL/pgSQL, same answers and still without JIT: as a SQL function its statement was
-- planned again on every call; PL/pgSQL keeps the plan for the session, which PostgREST's pooled
-- sessions reuse (kpi-me, the kpi-org drilldown).

create or replace function public.kpi_me(p_from date, p_to date, p_user_id uuid default null)
returns jsonb
language plpgsql stable security invoker set search_path = '' set jit = off
as $$
begin
  return (with member as (
    select m.user_id, here.time_zone, here.today
      from (select coalesce(p_user_id, (select auth.uid())) as user_id) m
      cross join lateral private.member_today(m.user_id) here
  ),
  -- The goal that covers the whole period if there is one, else the shortest that overlaps it.
  goal as (
    select g.*
      from public.goals g, member
     where g.user_id = member.user_id and g.period_start <= p_to and g.period_end >= p_from
     order by (g.period_start <= p_from and g.period_end >= p_to) desc, g.period_kind, g.period_start desc
     limit 1
  ),
  -- The member's active organization and its alert thresholds; empty unless the member is the
  -- caller or one they manage, so anyone else (another organization, an unmanaged colleague, a
  -- platform admin) gets null.
  thresholds as (
    select o.behind_pace_threshold, o.bottleneck_threshold, o.bottleneck_min_count,
           o.inactivity_alert_days
      from member
      join public.memberships m on m.user_id = member.user_id
      join public.organizations o on o.id = m.org_id
     where o.id in (select private.active_org_ids())
       and (member.user_id = (select auth.uid()) or private.manages_user(member.user_id))
  ),
  by_type as (
    select k.activity_type, k.stage_key, sum(k.quantity)::bigint as quantity,
           sum(k.value_cents)::bigint as value_cents,
           coalesce(sum(k.quantity) filter (where k.day between g.period_start and g.period_end), 0)::bigint
             as in_goal
      from member
      join public.kpi_daily k on k.user_id = member.user_id and k.day between p_from and p_to
      left join goal g on true
     group by k.activity_type, k.stage_key
  ),
  -- A custom stage counts the custom activities naming its key, any other stage its type.
  stages as (
    select st.position, st.key, st.name, st.activity_type, st.conversion_rate,
           coalesce(sum(b.quantity), 0)::bigint as actual,
           coalesce(sum(b.in_goal), 0)::bigint as actual_in_goal
      from goal
      join public.sim_stages st on st.sim_id = goal.sim_id
      left join by_type b on b.activity_type = st.activity_type
                         and (st.activity_type <> 'custom' or b.stage_key = st.key)
     group by st.position, st.key, st.name, st.activity_type, st.conversion_rate
  ),
  conversions as (
    select s.*, n.actual as next_actual,
           case when s.actual > 0 and s.conversion_rate is not null
                then round(n.actual::numeric / s.actual, 5) end as achieved_rate
      from stages s left join stages n on n.position = s.position + 1
  ),
  -- The worst stage whose achieved conversion is below the threshold fraction of the SIM's rate.
  bottleneck as (
    select c.* from conversions c, thresholds t
     where c.actual >= t.bottleneck_min_count
       and c.achieved_rate < c.conversion_rate * t.bottleneck_threshold
     order by c.achieved_rate / c.conversion_rate, c.position
     limit 1
  ),
  -- Full working days (the goal's calendar, else Monday to Friday) after the last logged day
  -- and before today, in the member's time zone.
  idleness as (
    select last.day as last_active_on, member.today, member.time_zone,
           (select count(*) from generate_series(coalesce(last.day + 1, goal.period_start, p_from),
                                                 member.today - 1, interval '1 day') d
             where extract(isodow from d)::smallint = any (coalesce(goal.working_weekdays, '{1,2,3,4,5}'))
               and not (d::date = any (coalesce(goal.days_off, '{}'))))::integer as working_days
      from member
      left join goal on true
      cross join lateral (select max(k.day) as day from public.kpi_daily k
                           where k.user_id = member.user_id and k.day < member.today) last
  )
  select jsonb_build_object(
    'from', p_from,
    'to', p_to,
    'today', i.today,
    'time_zone', i.time_zone,
    'goal', (select (public.goal_tracking(p_goal_id => goal.id, p_with_actuals => false) -> 0)
                    || jsonb_build_object('today', i.today) from goal),
    'actuals', coalesce((select jsonb_agg(jsonb_build_object(
                                  'type', b.activity_type, 'stage_key', nullif(b.stage_key, ''),
                                  'quantity', b.quantity, 'value_cents', b.value_cents)
                                order by b.activity_type, b.stage_key) from by_type b), '[]'::jsonb),
    'stages', coalesce((select jsonb_agg(jsonb_build_object(
                                 'key', c.key, 'name', c.name, 'activity_type', c.activity_type,
                                 'actual', c.actual, 'actual_in_goal', c.actual_in_goal,
                                 'sim_rate', c.conversion_rate, 'achieved_rate', c.achieved_rate)
                               order by c.position) from conversions c), '[]'::jsonb),
    'thresholds', (select to_jsonb(t) from thresholds t),
    'last_active_on', i.last_active_on,
    'idle_working_days', i.working_days,
    'alerts', coalesce((select jsonb_agg(a.alert) from (
        select jsonb_build_object('kind', 'bottleneck', 'stage_key', b.key,
                                  'achieved_rate', b.achieved_rate, 'sim_rate', b.conversion_rate) as alert
          from bottleneck b
        union all
        select jsonb_build_object('kind', 'inactive', 'working_days', i.working_days,
                                  'last_active_on', i.last_active_on)
          from thresholds t where i.working_days >= t.inactivity_alert_days) a), '[]'::jsonb))
    from idleness i
   where exists (select 1 from thresholds));
end
$$;
comment on function public.kpi_me(date, date, uuid) is
  'A member''s (default: the caller''s) KPIs from p_from to p_to, judged on their local today (private.member_today: profile time zone): the covering goal (as goal_tracking answers it without per-day actuals, today replaced), actuals per type, actuals per stage (whole period and the days the goal covers), achieved vs SIM conversion, alert thresholds, and the bottleneck and inactivity alerts. RLS applies: another member''s data is empty unless the caller manages them.';
