-- scripts/generate-org stays correct: a small org (30 members, 3 teams) has the role mix and team
-- layout asked for, every way a rep performs, goals per year on the team's SIM, activity on
-- working days of the window only, kpi_daily equal to the activities' sums, one history entry per
-- activity, the alerts its reps are built to raise (through kpi_me as the member), and the same
-- seed gives the same activity (another seed does not).
begin;
select plan(19);

\set users 30
\set teams 3
\set seed pgtap
\set slug gen-check
\ir ../../../scripts/generate-org.sql

create temporary table generated as
select u.id, u.email, u.raw_app_meta_data ->> 'generated_as' as generated_as, m.role, m.team_id,
       m.org_id, p.time_zone
  from public.memberships m
  join auth.users u on u.id = m.user_id
  join public.profiles p on p.id = m.user_id
 where m.org_id = (select id from public.organizations where slug = 'gen-check');

-- ## People
select is((select array_agg(format('%s %s', role, n) order by role)
             from (select role, count(*) n from generated group by role) r),
          array['rep 23', 'team_manager 3', 'enterprise_tm 3', 'enterprise_admin 1'],
          'one admin, an enterprise TM per division (Boston East, Chicago Central, Denver West), a manager per team, the rest reps');
select is((select count(*) from generated where role = 'rep' and team_id is null), 0::bigint,
          'every rep works in a team');
select is((select array_agg(format('%s %s', t.name, (select count(*) from public.team_managers tm
                                                        where tm.team_id = t.id)) order by t.name)
             from public.teams t where t.org_id = (select org_id from generated limit 1)),
          array['Boston 2', 'Chicago 2', 'Denver 2'],
          'each team is managed by its manager and its division''s enterprise TM');
select ok((select bool_and(reps >= 5) from (select count(*) reps from generated where role = 'rep' group by team_id) t),
          'every team has reps');
select is((select array_agg(distinct generated_as order by generated_as) from generated where role = 'rep'),
          array['ahead', 'behind', 'bottleneck', 'inactive', 'on_pace'],
          'every way a rep performs is there');
select is((select array_agg(distinct time_zone order by time_zone) from generated where role = 'rep'),
          array['America/Chicago', 'America/Denver', 'America/New_York'], 'reps live in their team''s time zone');
select is((select count(distinct email) from generated where email like '%@gen-check.test'), 30::bigint,
          'e-mail addresses are unique in the organization''s domain');

-- ## Goals and activity
select is((select count(*) from generated g
            where g.role = 'rep'
              and (select array_agg(extract(year from period_start)::int order by period_start)
                     from public.goals where user_id = g.id and period_kind = 'year')
                  is distinct from (select array_agg(distinct extract(year from d)::int order by extract(year from d)::int)
                                      from (values (current_date - 364), (current_date)) w(d))),
          0::bigint, 'each rep has a goal for each year the activity touches');
select is((select array_agg(distinct format('%s %s', t.name, sim.key) order by format('%s %s', t.name, sim.key))
             from public.goals g join generated m on m.id = g.user_id
             join public.teams t on t.id = m.team_id join public.sims sim on sim.id = g.sim_id),
          array['Boston field-sales', 'Chicago field-sales', 'Denver insurance'],
          'goals run on the team''s SIM: the organization''s own funnel, or insurance for every third team');
select is((select count(*) from public.activities a join generated m on m.id = a.user_id
            where extract(isodow from a.occurred_on) > 5
               or a.occurred_on not between current_date - 364 and current_date
               or m.role <> 'rep'),
          0::bigint, 'reps log on working days of the last year only');
select ok((select count(distinct (a.type, a.stage_key)) = 5
             from public.activities a join generated m on m.id = a.user_id),
          'calls, appointments, proposals (the custom stage), deals and referrals are logged');
select is((select count(*) from public.activities a join generated m on m.id = a.user_id
            where (a.type = 'deal') <> (a.value_cents is not null)),
          0::bigint, 'deals, and only deals, carry a value');
select is((select count(*) from (
             (select user_id, day, activity_type, stage_key, quantity, value_cents, activities
                from public.kpi_daily where user_id in (select id from generated)
              except all
              select user_id, occurred_on, type, coalesce(stage_key, ''), sum(quantity), coalesce(sum(value_cents), 0), count(*)
                from public.activities where user_id in (select id from generated)
               group by 1, 2, 3, 4)
             union all
             (select user_id, occurred_on, type, coalesce(stage_key, ''), sum(quantity), coalesce(sum(value_cents), 0), count(*)
                from public.activities where user_id in (select id from generated)
               group by 1, 2, 3, 4
              except all
              select user_id, day, activity_type, stage_key, quantity, value_cents, activities
                from public.kpi_daily where user_id in (select id from generated))) differences),
          0::bigint, 'kpi_daily equals the sums of the activities');
select is((select count(*) from public.activities a
            where a.user_id in (select id from generated)
              and (select count(*) from public.activity_history h
                    where h.activity_id = a.id and h.operation = 'insert' and h.changed_by = a.user_id) <> 1),
          0::bigint, 'each activity has its one insert entry in the history, by its owner');

-- ## What the reps are built to show
-- Calls in the last 90 days against the calls their goal plans for (its deals divided up the
-- funnel): every rep ahead logs more than every rep behind.
select ok((select min(ratio) filter (where generated_as = 'ahead') > max(ratio) filter (where generated_as = 'behind')
             from (select m.generated_as,
                          sum(k.quantity) / (g.income_target_cents::numeric / sim.income_per_deal_cents
                                             / exp((select sum(ln(st.conversion_rate)) from public.sim_stages st
                                                     where st.sim_id = sim.id))) as ratio
                     from generated m
                     join public.goals g on g.user_id = m.id and current_date between g.period_start and g.period_end
                     join public.sims sim on sim.id = g.sim_id
                     join public.kpi_daily k on k.user_id = m.id and k.activity_type = 'call'
                                            and k.day > current_date - 90
                    group by m.id, m.generated_as, g.id, sim.id) r),
          'every rep ahead calls more for their target than any rep behind');
create temporary table personas as
select tests.named('gen_' || generated_as, id)
  from (select distinct on (generated_as) generated_as, id from generated where role = 'rep'
         order by generated_as, email) firsts;
-- The alerts over the year, through kpi_me as the rep.
select ok(tests.seen('gen_bottleneck', $$select a ->> 'kind' from jsonb_array_elements(
            public.kpi_me(current_date - 364, current_date) -> 'alerts') a$$) @> array['bottleneck'],
          'a rep with a weak stage gets the bottleneck alert');
select ok(tests.seen('gen_inactive', $$select a ->> 'kind' from jsonb_array_elements(
            public.kpi_me(current_date - 364, current_date) -> 'alerts') a$$) @> array['inactive'],
          'a rep who stopped logging gets the inactivity alert');
select is(tests.seen('gen_on_pace', $$select count(*)::text from jsonb_array_elements(
            public.kpi_me(current_date - 364, current_date) -> 'alerts') a$$),
          array['0'], 'a rep on pace gets no alert');

-- ## Deterministic
\set slug gen-check-again
\ir ../../../scripts/generate-org.sql
\set seed other
\set slug gen-check-other
\ir ../../../scripts/generate-org.sql
create temporary table activity_by_org as
select o.slug, array_agg(format('%s %s %s %s %s', a.occurred_on, a.type, a.stage_key, a.quantity, a.value_cents)
                         order by a.occurred_on, a.type, a.stage_key, a.quantity, a.value_cents) as activity
  from public.activities a join public.organizations o on o.id = a.org_id
 where o.slug like 'gen-check%'
 group by o.slug;
select ok((select activity from activity_by_org where slug = 'gen-check')
            = (select activity from activity_by_org where slug = 'gen-check-again')
          and (select activity from activity_by_org where slug = 'gen-check')
            <> (select activity from activity_by_org where slug = 'gen-check-other'),
          'the same seed gives the same activity, another seed another');

select * from finish();
rollback;
