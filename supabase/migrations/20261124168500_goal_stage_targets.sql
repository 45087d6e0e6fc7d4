-- A goal's activity targets in SQL, equal to what the goal engine (shared::domain::goals) plans,
-- so that org-wide views can compare hundreds of members with their targets in one query instead
-- of planning each goal in a function. The engine's rules, in integers:
-- - referred deals of a rule = floor(referrals expected a month x the goal's months x close
--   rate); each brings round(income per deal x multiplier) (a multiplier below 1 counts as 1);
--   the active planning rules count, oldest first, at most 20;
-- - cold deals = ceil((target - min(referral income, target)) / income per deal);
-- - each earlier stage = ceil(next stage / its conversion rate), rates as exact millionths;
-- - a stage total T over the goal's N working days gives every working day floor(T / N) and the
--   first T mod N working days one more.
-- An integration test (tests/tests/functions_kpi_org.rs) plans goals with the engine and
-- compares its figures with these.

-- ## Calendar
create or replace function private.working_days(
  p_from date, p_to date, p_weekdays smallint[], p_days_off date[])
returns integer
language plpgsql immutable parallel safe set search_path = ''
as $$
declare
  span integer := p_to - p_from;
  -- ISO weekdays by integer arithmetic (3 January 2000 was a Monday): extract() is numeric.
  first_weekday integer := ((p_from - date '2000-01-03') % 7 + 7) % 7 + 1;
  worked integer := 0;  -- bit w set: ISO weekday w is worked
  days integer := 0;
  i integer := 0;
  w smallint;
  day_off date;
begin
  if span < 0 then
    return 0;
  end if;
  -- Per weekday worked, its first date on or after p_from and every 7th day after it.
  foreach w in array p_weekdays loop
    if worked & (1 << w) = 0 then
      worked := worked | (1 << w);
      if (w - first_weekday + 7) % 7 <= span then
        days := days + (span - (w - first_weekday + 7) % 7) / 7 + 1;
      end if;
    end if;
  end loop;
  -- Then the days off that would have been worked, each once.
  foreach day_off in array coalesce(p_days_off, '{}') loop
    i := i + 1;
    if day_off between p_from and p_to
       and worked & (1 << (((day_off - date '2000-01-03') % 7 + 7) % 7 + 1)) <> 0
       and array_position(p_days_off, day_off) = i then
      days := days - 1;
    end if;
  end loop;
  return days;
end
$$;
comment on function private.working_days(date, date, smallint[], date[]) is
  'Working days from p_from to p_to (both included): ISO weekdays p_weekdays, minus p_days_off. Arithmetic per weekday, no loop over the days.';

-- ## Funnel
create or replace function private.reverse_funnel(p_deals bigint, p_rates numeric[])
returns bigint[]
language plpgsql immutable parallel safe set search_path = ''
as $$
declare
  counts bigint[] := array_fill(0::bigint, array[cardinality(p_rates)]);
  next numeric := p_deals;
  ppm numeric;
begin
  -- Walks the stages (at most 20), never the members.
  for i in reverse cardinality(p_rates)..1 loop
    if p_rates[i] is not null then
      ppm := round(p_rates[i] * 1000000);
      next := div(next * 1000000 + ppm - 1, ppm);
    end if;
    counts[i] := next;
  end loop;
  return counts;
end
$$;
comment on function private.reverse_funnel(bigint, numeric[]) is
  'Stage totals reaching p_deals deals: p_rates are the stages'' conversion rates in funnel order (null for the deal); each earlier stage is ceil(next / rate).';

-- ## Targets of a period
create or replace function private.stage_targets(p_users uuid[], p_from date, p_to date)
returns table (user_id uuid, goal_kind public.period_kind, stage_position smallint, stage_key text,
               activity_type public.activity_type, target bigint, expected bigint)
language sql stable security invoker set search_path = ''
as $$
  -- Set-based throughout (hash joins over the goals, SIMs and rules involved), so that hundreds
  -- of members cost a few scans rather than a nested loop per goal.
  with overlapping as (
    select g.*,
           -- The goal kind kpi_me would pick: one covering the period, else the shortest
           -- overlapping it. Every goal of that kind overlapping the period contributes.
           first_value(g.period_kind) over (
             partition by g.user_id
             order by (g.period_start <= p_from and g.period_end >= p_to) desc, g.period_kind,
                      g.period_start desc) as picked_kind
      from public.goals g
     where g.user_id = any (p_users) and g.period_start <= p_to and g.period_end >= p_from
  ),
  goal as (
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
  funnel as (
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
  referral as (
    select goal.id, sum(floor(r.expected_referrals_per_month * goal.months * r.referral_close_rate)
                        * round(goal.income_per_deal_cents * r.multiplier)) as income
      from goal join rules r on r.user_id = goal.user_id
     group by goal.id
  ),
  -- Materialized: each goal's calendar and totals are computed once, not inside every aggregate.
  planned as materialized (
    select goal.user_id, goal.period_kind, funnel.positions, funnel.keys, funnel.types, calendar.*,
           -- Cold deals: ceil((target - min(referral income, target)) / income per deal).
           private.reverse_funnel(
             div(goal.income_target_cents - least(coalesce(referral.income, 0), goal.income_target_cents)
                 + goal.income_per_deal_cents - 1, goal.income_per_deal_cents)::bigint,
             funnel.rates) as totals
      from goal
      join funnel on funnel.sim_id = goal.sim_id
      left join referral on referral.id = goal.id
      cross join lateral (
        select private.working_days(goal.period_start, goal.period_end,
                                    goal.working_weekdays, goal.days_off) as days,
               private.working_days(goal.period_start, goal.first_day - 1,
                                    goal.working_weekdays, goal.days_off) as before,
               private.working_days(goal.first_day, goal.last_day,
                                    goal.working_weekdays, goal.days_off) as within,
               private.working_days(goal.first_day, least(goal.last_day, goal.today),
                                    goal.working_weekdays, goal.days_off) as by_today) calendar
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
   group by planned.user_id, planned.period_kind, stage.position, stage.key, stage.type
$$;
comment on function private.stage_targets(uuid[], date, date) is
  'Per member of p_users whose goal the caller may read (RLS), per funnel stage: the target from p_from to p_to and the part of it expected by the end of the member''s today (their profile''s time zone, as kpi_me counts it), as the goal engine plans them.';
grant execute on function private.working_days(date, date, smallint[], date[]),
  private.reverse_funnel(bigint, numeric[]),
  private.stage_targets(uuid[], date, date) to authenticated;
