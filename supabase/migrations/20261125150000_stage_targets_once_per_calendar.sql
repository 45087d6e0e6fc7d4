-- stage_targets computed each calendar and each funnel once, not once per goal. An organization's
-- goals share a few calendars (the same period, weekdays and days off; the member's today differs
-- only between time zones) and a few funnels (a SIM and a number of cold deals), but every goal
-- paid four private.working_days calls and one private.reverse_funnel call, each a PL/pgSQL call
-- with its own search_path: 2 350 calls for the 470 goals of a 500-member organization, 22 ms of
-- kpi_org('month') at a load average of 11. Same helpers, same rules, same answers; a member with
-- days off of their own still costs one calendar.

create or replace function private.stage_targets(p_users uuid[], p_from date, p_to date)
returns table (user_id uuid, goal_kind public.period_kind, stage_position smallint, stage_key text,
               activity_type public.activity_type, target bigint, expected bigint)
language plpgsql stable security invoker set search_path = ''
as $$
begin
  return query
  with overlapping as (
    select g.*,
           -- The goal kind kpi_me would pick: one covering the period, else the shortest
           -- overlapping it. Every goal of that kind overlapping the period contributes.
           first_value(g.period_kind) over (
             partition by g.user_id
             order by (g.period_start <= p_from and g.period_end >= p_to) desc, g.period_kind,
                      g.period_start desc) as picked_kind
      from public.goals g
     -- A semi-join, not `= any (p_users)`: beside the policy's own `= any` on the same index
     -- column that made the index scan try every pair of the two arrays (22 ms for 500 members).
     where g.user_id in (select unnest(p_users)) and g.period_start <= p_to and g.period_end >= p_from
  ),
  goal as materialized (
    select g.id, g.user_id, g.period_kind, g.sim_id, g.income_target_cents, g.period_start,
           g.period_end, g.working_weekdays, g.days_off, s.income_per_deal_cents,
           greatest(g.period_start, p_from) as first_day, least(g.period_end, p_to) as last_day,
           (now() at time zone coalesce(p.time_zone, 'UTC'))::date as today,
           case g.period_kind when 'month' then 1 when 'quarter' then 3 else 12 end as months
      from overlapping g
      join public.sims s on s.id = g.sim_id
      left join public.profiles p on p.id = g.user_id
     where g.period_kind = g.picked_kind and s.income_per_deal_cents > 0
  ),
  funnel as materialized (
    select st.sim_id, array_agg(st.position order by st.position) as positions,
           array_agg(st.key order by st.position) as keys,
           array_agg(st.activity_type order by st.position) as types,
           array_agg(st.conversion_rate order by st.position) as rates
      from public.sim_stages st
     where st.sim_id in (select goal.sim_id from goal)
     group by st.sim_id
  ),
  -- The member's active planning rules, oldest first, at most 20 (as goal_tracking answers them).
  rules as (
    select r.user_id, r.expected_referrals_per_month, r.referral_close_rate,
           greatest(coalesce(r.referred_value_multiplier, 1), 1) as multiplier
      from (select r.*, row_number() over (partition by r.user_id order by r.created_at, r.id) as n
              from public.referral_rules r
             where r.user_id = any (p_users) and r.active
               and r.expected_referrals_per_month is not null and r.referral_close_rate is not null) r
     where r.n <= 20
  ),
  referral as materialized (
    select goal.id, sum(floor(r.expected_referrals_per_month * goal.months * r.referral_close_rate)
                        * round(goal.income_per_deal_cents * r.multiplier)) as income
      from goal join rules r on r.user_id = goal.user_id
     group by goal.id
  ),
  -- Cold deals: ceil((target - min(referral income, target)) / income per deal), and which goal
  -- is the first of its calendar and of its funnel (the others take their figures from it).
  cold as (
    select goal.*, deals,
           row_number() over (partition by goal.period_start, goal.period_end, goal.working_weekdays,
                                           goal.days_off, goal.first_day, goal.last_day, goal.today)
             as nth_of_calendar,
           row_number() over (partition by goal.sim_id, deals) as nth_of_funnel
      from goal
      left join referral on referral.id = goal.id
      cross join lateral (
        select div(goal.income_target_cents - least(coalesce(referral.income, 0), goal.income_target_cents)
                   + goal.income_per_deal_cents - 1, goal.income_per_deal_cents)::bigint as deals) cold
  ),
  -- Materialized: each goal's calendar and totals are computed once, not inside every aggregate;
  -- the helpers run for the first goal of each calendar and funnel only (a CASE evaluates its
  -- branch only when it applies) and the window hands their answer to the others.
  planned as materialized (
    select c.user_id, c.period_kind, funnel.positions, funnel.keys, funnel.types,
           max(case when c.nth_of_funnel = 1 then private.reverse_funnel(c.deals, funnel.rates) end)
             over same_funnel as totals,
           max(case when c.nth_of_calendar = 1
                    then private.working_days(c.period_start, c.period_end, c.working_weekdays, c.days_off) end)
             over same_calendar as days,
           max(case when c.nth_of_calendar = 1
                    then private.working_days(c.period_start, c.first_day - 1, c.working_weekdays, c.days_off) end)
             over same_calendar as before,
           max(case when c.nth_of_calendar = 1
                    then private.working_days(c.first_day, c.last_day, c.working_weekdays, c.days_off) end)
             over same_calendar as within,
           max(case when c.nth_of_calendar = 1
                    then private.working_days(c.first_day, least(c.last_day, c.today), c.working_weekdays,
                                              c.days_off) end)
             over same_calendar as by_today
      from cold c
      join funnel on funnel.sim_id = c.sim_id
    window same_funnel as (partition by c.sim_id, c.deals),
           same_calendar as (partition by c.period_start, c.period_end, c.working_weekdays, c.days_off,
                                          c.first_day, c.last_day, c.today)
  )
  select planned.user_id, planned.period_kind, stage.position, stage.key, stage.type,
         -- The shares of working days before + 1 .. before + n: n x floor(T / N), plus one for
         -- each of them among the first T mod N.
         sum(share.per_day * planned.within
             + greatest(0, least(planned.before + planned.within, share.extra_days) - planned.before))::bigint,
         sum(share.per_day * planned.by_today
             + greatest(0, least(planned.before + planned.by_today, share.extra_days) - planned.before))::bigint
    from planned
    -- A calendar without a working day plans nothing (the engine refuses it).
    cross join lateral unnest(planned.positions, planned.keys, planned.types, planned.totals)
      as stage(position, key, type, total)
    cross join lateral (select stage.total / planned.days as per_day,
                               stage.total % planned.days as extra_days) share
   where planned.days > 0
   group by planned.user_id, planned.period_kind, stage.position, stage.key, stage.type;
end
$$;
comment on function private.stage_targets(uuid[], date, date) is
  'Per member of p_users whose goal the caller may read (RLS), per funnel stage: the target from p_from to p_to and the part of it expected by the end of the member''s today (their profile''s time zone, as kpi_me counts it), as the goal engine plans them; each distinct calendar and funnel computed once.';
