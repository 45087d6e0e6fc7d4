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
language sql immutable parallel safe set search_path = ''
as $$
  -- Per weekday worked, its first date on or after p_from and every 7th day after it up to
  -- p_to; then the distinct days off that would have been worked.
  select case when p_to < p_from then 0 else
    (select coalesce(sum((p_to - first_day) / 7 + 1), 0)::integer
       from (select distinct p_from + (w - extract(isodow from p_from)::integer + 7) % 7 as first_day
               from unnest(p_weekdays) w) weekday
      where first_day <= p_to)
    - (select count(distinct d)::integer from unnest(p_days_off) d
        where d between p_from and p_to and extract(isodow from d)::smallint = any (p_weekdays))
  end
$$;
comment on function private.working_days(date, date, smallint[], date[]) is
  'Working days from p_from to p_to (both included): ISO weekdays p_weekdays, minus p_days_off. Without a loop over days.';

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

create or replace function private.cold_deals(
  p_target_cents bigint, p_income_per_deal_cents bigint, p_referral_income_cents numeric)
returns bigint
language sql immutable parallel safe set search_path = ''
as $$
  select div(p_target_cents - least(p_referral_income_cents, p_target_cents)
             + p_income_per_deal_cents - 1, p_income_per_deal_cents)::bigint
   where p_income_per_deal_cents > 0
$$;
comment on function private.cold_deals(bigint, bigint, numeric) is
  'Deals the cold funnel needs: ceil((target - min(referral income, target)) / income per deal); null when a deal brings nothing.';

create or replace function private.plan_share(
  p_total bigint, p_working_days integer, p_first integer, p_count integer)
returns bigint
language sql immutable parallel safe set search_path = ''
as $$
  select case when p_working_days <= 0 or p_count <= 0 then 0::bigint
              else p_count * (p_total / p_working_days)
                   + greatest(0, least(p_first + p_count, p_total % p_working_days) - p_first) end
$$;
comment on function private.plan_share(bigint, integer, integer, integer) is
  'The planned count of p_count consecutive working days starting at working day p_first (0-based) of a stage total p_total spread over p_working_days days.';

-- ## Targets of a period
create or replace function private.stage_targets(p_users uuid[], p_from date, p_to date)
returns table (user_id uuid, goal_kind public.period_kind, stage_position smallint, stage_key text,
               activity_type public.activity_type, target bigint, expected bigint)
language sql stable security invoker set search_path = ''
as $$
  -- Per member the goal kind kpi_me would pick (one covering the period, else the shortest
  -- overlapping it); every goal of that kind overlapping the period contributes its share.
  with picked as (
    select distinct on (g.user_id) g.user_id, g.period_kind
      from public.goals g
     where g.user_id = any (p_users) and g.period_start <= p_to and g.period_end >= p_from
     order by g.user_id, (g.period_start <= p_from and g.period_end >= p_to) desc,
              g.period_kind, g.period_start desc
  ),
  goal as (
    select g.user_id, g.period_kind, g.sim_id, g.income_target_cents, g.period_start,
           g.period_end, g.working_weekdays, g.days_off, s.income_per_deal_cents,
           greatest(g.period_start, p_from) as first_day, least(g.period_end, p_to) as last_day,
           (now() at time zone g.time_zone)::date as today,
           case g.period_kind when 'month' then 1 when 'quarter' then 3 else 12 end as months
      from picked
      join public.goals g on g.user_id = picked.user_id and g.period_kind = picked.period_kind
      join public.sims s on s.id = g.sim_id
     where g.period_start <= p_to and g.period_end >= p_from
  ),
  planned as (
    select goal.user_id, goal.period_kind, funnel.positions, funnel.keys, funnel.types, calendar.*,
           private.reverse_funnel(
             private.cold_deals(goal.income_target_cents, goal.income_per_deal_cents, referral.income),
             funnel.rates) as totals
      from goal
      cross join lateral (
        select private.working_days(goal.period_start, goal.period_end,
                                    goal.working_weekdays, goal.days_off) as days,
               private.working_days(goal.period_start, goal.first_day - 1,
                                    goal.working_weekdays, goal.days_off) as before,
               private.working_days(goal.first_day, goal.last_day,
                                    goal.working_weekdays, goal.days_off) as within,
               private.working_days(goal.first_day, least(goal.last_day, goal.today),
                                    goal.working_weekdays, goal.days_off) as by_today) calendar
      cross join lateral (
        select array_agg(st.position order by st.position) as positions,
               array_agg(st.key order by st.position) as keys,
               array_agg(st.activity_type order by st.position) as types,
               array_agg(st.conversion_rate order by st.position) as rates
          from public.sim_stages st where st.sim_id = goal.sim_id) funnel
      cross join lateral (
        select coalesce(sum(floor(r.expected_referrals_per_month * goal.months * r.referral_close_rate)
                            * round(goal.income_per_deal_cents
                                    * greatest(coalesce(r.referred_value_multiplier, 1), 1))), 0)
                 as income
          from (select r.* from public.referral_rules r
                 where r.user_id = goal.user_id and r.active
                   and r.expected_referrals_per_month is not null and r.referral_close_rate is not null
                 order by r.created_at, r.id limit 20) r) referral
     where calendar.days > 0 and goal.income_per_deal_cents > 0
  )
  select planned.user_id, planned.period_kind, stage.position, stage.key, stage.type,
         sum(private.plan_share(stage.total, planned.days, planned.before, planned.within))::bigint,
         sum(private.plan_share(stage.total, planned.days, planned.before, planned.by_today))::bigint
    from planned
    cross join lateral unnest(planned.positions, planned.keys, planned.types, planned.totals)
      as stage(position, key, type, total)
   group by planned.user_id, planned.period_kind, stage.position, stage.key, stage.type
$$;
comment on function private.stage_targets(uuid[], date, date) is
  'Per member of p_users whose goal the caller may read (RLS), per funnel stage: the target from p_from to p_to and the part of it expected by the end of the member''s today (goal time zone), as the goal engine plans them.';
grant execute on function private.working_days(date, date, smallint[], date[]),
  private.reverse_funnel(bigint, numeric[]), private.cold_deals(bigint, bigint, numeric),
  private.plan_share(bigint, integer, integer, integer),
  private.stage_targets(uuid[], date, date) to authenticated;
