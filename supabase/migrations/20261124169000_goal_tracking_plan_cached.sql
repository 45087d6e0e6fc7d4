-- goal_tracking in PL/pgSQL, same answers: as a SQL function it was planned again on every call
-- (SQL functions that cannot be inlined keep no plan across calls), 10 of kpi_me's 12 ms for one
-- rep's month on the generated organization (scripts/bench-kpi). PL/pgSQL keeps each statement's
-- plan for the session, and PostgREST's pooled sessions call it again and again (kpi-me,
-- goals-progress, activities-today).

create or replace function public.goal_tracking(
  p_user_id uuid default null,
  p_goal_id uuid default null,
  p_period_kind public.period_kind default null,
  p_with_actuals boolean default true)
returns jsonb
language plpgsql stable security invoker set search_path = ''
as $$
declare
  goal_ids uuid[];
begin
  -- The goals asked for first, each way by its own index; the answer's query then has one shape
  -- whatever the arguments, so its cached generic plan fits every call.
  if p_goal_id is not null then
    goal_ids := array(select goals.id from public.goals
                       where goals.id = p_goal_id
                         and (p_user_id is null or goals.user_id = p_user_id)
                         and (p_period_kind is null or goals.period_kind = p_period_kind));
  else
    goal_ids := array(select goals.id from public.goals
                       where goals.user_id = coalesce(p_user_id, (select auth.uid()))
                         and (p_period_kind is null or goals.period_kind = p_period_kind));
  end if;
  return (select coalesce(jsonb_agg(jsonb_build_object(
           'goal', to_jsonb(g) - 'today',
           'today', g.today,
           'sim', sim.sim,
           'actuals', actuals.days,
           'logged_today', logged.today,
           'referrals', totals.referrals,
           'deal_value_cents', totals.deal_value_cents,
           'referral_rules', rules.list)
         order by g.period_kind, g.period_start), '[]'::jsonb)
    from (select goals.*, (now() at time zone goals.time_zone)::date as today
            from public.goals
           where goals.id = any (goal_ids)) g
    left join lateral (
      select jsonb_build_object(
               'id', s.id, 'key', s.key, 'name', s.name, 'status', s.status,
               'average_deal_value_cents', s.average_deal_value_cents,
               'commission_rate', s.commission_rate,
               'income_per_deal_cents', s.income_per_deal_cents,
               'stages', (select jsonb_agg(jsonb_build_object(
                                   'key', st.key, 'name', st.name, 'activity_type', st.activity_type,
                                   'conversion_rate', st.conversion_rate) order by st.position)
                            from public.sim_stages st where st.sim_id = s.id)) as sim
        from public.sims s where s.id = g.sim_id) sim on true
    -- Per day, the quantity logged for each stage in funnel order: a custom stage counts the
    -- custom activities naming its key, any other stage the activities of its type.
    left join lateral (
      select coalesce(jsonb_agg(jsonb_build_object('day', x.day, 'counts', x.counts) order by x.day),
                      '[]'::jsonb) as days
        from (select y.day, array_agg(y.quantity order by y.position) as counts
                from (select k.day, st.position,
                             coalesce(sum(k.quantity) filter (
                               where k.activity_type = st.activity_type
                                 and (st.activity_type <> 'custom' or k.stage_key = st.key)), 0)::bigint
                               as quantity
                        from public.kpi_daily k
                        cross join public.sim_stages st
                       where k.user_id = g.user_id and k.day between g.period_start and g.period_end
                         and st.sim_id = g.sim_id
                       group by k.day, st.position) y
               group by y.day) x
       where p_with_actuals) actuals on true
    left join lateral (
      select coalesce(jsonb_agg(jsonb_build_object(
                        'type', k.activity_type, 'stage_key', nullif(k.stage_key, ''),
                        'quantity', k.quantity, 'value_cents', k.value_cents)
                      order by k.activity_type, k.stage_key), '[]'::jsonb) as today
        from public.kpi_daily k
       where p_with_actuals and k.user_id = g.user_id and k.day = g.today) logged on true
    left join lateral (
      select coalesce(sum(k.quantity) filter (where k.activity_type = 'referral'), 0) as referrals,
             coalesce(sum(k.value_cents) filter (where k.activity_type = 'deal'), 0) as deal_value_cents
        from public.kpi_daily k
       where p_with_actuals and k.user_id = g.user_id
         and k.day between g.period_start and g.period_end) totals on true
    -- The member's active rules that plan with referrals: an expected count and a close rate.
    left join lateral (
      select coalesce(jsonb_agg(jsonb_build_object(
                        'expected_referrals_per_month', r.expected_referrals_per_month,
                        'referral_close_rate', r.referral_close_rate,
                        'referred_value_multiplier', r.referred_value_multiplier)
                      order by r.created_at, r.id), '[]'::jsonb) as list
        from (select * from public.referral_rules r
               where r.user_id = g.user_id and r.active
                 and r.expected_referrals_per_month is not null and r.referral_close_rate is not null
               order by r.created_at, r.id limit 20) r) rules on true
   where p_goal_id is not null or g.today between g.period_start and g.period_end);
end
$$;
comment on function public.goal_tracking(uuid, uuid, public.period_kind, boolean) is
  'A member''s (default: the caller''s) current goals, or the goal p_goal_id, with the SIM funnel, local today (goal time zone), the member''s active referral rules that plan (at most 20) and, unless p_with_actuals is false, per-day actuals per stage, today''s rollups, referrals and deal value over the period. RLS applies.';
revoke execute on function public.goal_tracking(uuid, uuid, public.period_kind, boolean) from public, anon;
grant execute on function public.goal_tracking(uuid, uuid, public.period_kind, boolean) to authenticated;
