-- stage_targets works each calendar and each funnel out once and hands the answer to every goal
-- sharing it: a member's targets must be the same whether they are asked alone or together with
-- members whose goals share their calendar, their funnel, both or neither.
begin;
select plan(6);
select tests.create_world();
select tests.create_member_data();

-- rep and rep2: the fixture's year goal (same calendar, same funnel). Besides them:
-- enterprise_tm: the same calendar, another funnel (a smaller target, a referral rule that plans);
-- enterprise_admin: the same funnel, another calendar (three-day weeks);
-- team_manager: neither (a month goal on org A's SIM, six-day weeks and two days off).
insert into public.goals (user_id, sim_id, income_target_cents, period_kind, period_start, working_weekdays, days_off)
values (tests.id('enterprise_tm'), tests.id('sim_global'), 5000000, 'year', '2026-01-01', '{1,2,3,4,5}', '{}'),
       (tests.id('enterprise_admin'), tests.id('sim_global'), 10000000, 'year', '2026-01-01', '{1,2,3}', '{}'),
       (tests.id('team_manager'), tests.id('sim_a'), 9000000, 'month', '2026-03-01', '{1,2,3,4,5,6}',
        '{2026-03-10,2026-03-11}');
insert into public.referral_rules (user_id, name, referral_close_rate, expected_referrals_per_month)
values (tests.id('enterprise_tm'), 'Past clients', 0.5, 2);

create temporary table asked (user_id uuid, persona text);
insert into asked select tests.id(p), p
  from unnest(array['rep', 'rep2', 'enterprise_tm', 'enterprise_admin', 'team_manager']) p;
create temporary table periods (label text, first_day date, last_day date);
insert into periods values ('March', '2026-03-01', '2026-03-31'), ('the first quarter', '2026-01-01', '2026-03-31'),
                           ('the week with the days off', '2026-03-09', '2026-03-15');
create temporary table together (label text, user_id uuid, goal_kind public.period_kind, stage_position smallint,
                                 stage_key text, activity_type public.activity_type, target bigint, expected bigint);
create temporary table alone (like together);
grant select on asked, periods to authenticated;
grant select, insert on together, alone to authenticated;

select tests.authenticate_as('enterprise_admin');
insert into together
select p.label, t.* from periods p,
       private.stage_targets((select array_agg(a.user_id) from asked a), p.first_day, p.last_day) t;
insert into alone
select p.label, t.* from periods p, asked a, private.stage_targets(array[a.user_id], p.first_day, p.last_day) t;
select tests.clear_authentication();

select is((select count(distinct user_id) from together where label = p.label), 5::bigint,
          format('stage_targets: every member with a goal is planned for %s', p.label))
  from periods p;
select bag_eq('select * from together', 'select * from alone',
  'stage_targets: each member''s targets are the same asked alone or with members sharing a calendar or a funnel');
select is((select array_agg(target order by label, stage_position) from together where user_id = tests.id('rep')),
          (select array_agg(target order by label, stage_position) from together where user_id = tests.id('rep2')),
          'stage_targets: two members with the same goal get the same targets');
select isnt((select array_agg(target order by label, stage_position) from together where user_id = tests.id('rep')),
            (select array_agg(target order by label, stage_position) from together where user_id = tests.id('enterprise_admin')),
            'stage_targets: the same funnel on another calendar gets other targets');

select * from finish();
rollback;
