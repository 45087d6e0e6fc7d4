-- admin_save_sim, admin_set_sim_status, admin_set_sim_availability × every persona: platform
-- admins manage every SIM and the global ones' availability, enterprise admins their own
-- organization's SIMs, nobody else and no read-only session; each change audited once with
-- before and after; retired or withheld SIMs keep their goals but are not picked for new ones.
begin;
select plan(84);
select tests.create_world();
select tests.create_member_data();

create function tests.sim_body(org text, sim_key text, id text default null) returns jsonb
language sql as $$
  select jsonb_strip_nulls(jsonb_build_object(
    'id', tests.id(id), 'org_id', tests.id(org), 'key', sim_key, 'name', 'Insurance',
    'industry', 'Insurance', 'average_deal_value_cents', 200000, 'commission_rate', 0.1,
    'stages', jsonb_build_array(
      jsonb_build_object('key', 'call', 'name', 'Call', 'activity_type', 'call', 'conversion_rate', 0.2),
      jsonb_build_object('key', 'deal', 'name', 'Policy', 'activity_type', 'deal'))))
$$;

-- ## Who may call what
select is(tests.try_as(persona, $$select admin_save_sim(tests.sim_body(null, 'insurance'))$$),
  expected, format('creating a global SIM: %s gets %s', persona, expected))
  from (values
    ('rep', '42501 you may not manage these SIMs'), ('team_manager', '42501 you may not manage these SIMs'),
    ('enterprise_tm', '42501 you may not manage these SIMs'), ('enterprise_admin', '42501 you may not manage these SIMs'),
    ('other', '42501 you may not manage these SIMs'), ('suspended', '42501 you may not manage these SIMs'),
    ('read_only', '42501 you may not manage these SIMs'), ('platform_admin', 'ok 1'),
    ('anon', '42501 permission denied for function admin_save_sim')
  ) v(persona, expected);

select is(tests.try_as(persona, $$select admin_save_sim(tests.sim_body('org_a', 'insurance'))$$),
  expected, format('creating a SIM of org A: %s gets %s', persona, expected))
  from (values
    ('rep', '42501 you may not manage these SIMs'), ('team_manager', '42501 you may not manage these SIMs'),
    ('enterprise_tm', '42501 you may not manage these SIMs'), ('enterprise_admin', 'ok 1'),
    ('other', '42501 you may not manage these SIMs'), ('suspended', '42501 you may not manage these SIMs'),
    ('read_only', '42501 you may not manage these SIMs'), ('platform_admin', 'ok 1')
  ) v(persona, expected);

select is(tests.try_as(persona, $$select admin_set_sim_status(tests.id('sim_a'), 'retired')$$),
  expected, format('retiring org A''s SIM: %s gets %s', persona, expected))
  from (values
    ('rep', '42501 you may not manage this SIM'), ('team_manager', '42501 you may not manage this SIM'),
    ('enterprise_tm', '42501 you may not manage this SIM'), ('enterprise_admin', 'ok 1'),
    ('other', '42501 you may not manage this SIM'), ('suspended', '42501 you may not manage this SIM'),
    ('read_only', '42501 you may not manage this SIM'), ('platform_admin', 'ok 1')
  ) v(persona, expected);

select is(tests.try_as(persona, $$select admin_set_sim_status(tests.id('sim_global'), 'retired')$$),
  expected, format('retiring the global SIM: %s gets %s', persona, expected))
  from (values
    ('enterprise_admin', '42501 you may not manage this SIM'), ('read_only', '42501 you may not manage this SIM'),
    ('platform_admin', 'ok 1')
  ) v(persona, expected);

select is(tests.try_as(persona, $$select admin_set_sim_availability(tests.id('sim_global'), tests.id('org_a'), false)$$),
  expected, format('withholding the global SIM from org A: %s gets %s', persona, expected))
  from (values
    ('rep', '42501 only a platform admin in their own session sets SIM availability'),
    ('enterprise_admin', '42501 only a platform admin in their own session sets SIM availability'),
    ('other', '42501 only a platform admin in their own session sets SIM availability'),
    ('read_only', '42501 only a platform admin in their own session sets SIM availability'),
    ('platform_admin', 'ok 1')
  ) v(persona, expected);

select is(tests.try_as('enterprise_admin', $$select admin_set_sim_status(tests.id('sim_b'), 'retired')$$),
  '42501 you may not manage this SIM', 'an enterprise admin cannot tell another org''s SIM from a missing one');
select is(tests.try_as('enterprise_admin', format($$select admin_set_sim_status(%L, 'retired')$$, gen_random_uuid())),
  '42501 you may not manage this SIM', '… nor a missing SIM from a foreign one');
select is((select count(*) from audit_log where target_type = 'sim'), 0::bigint, 'the probes left no audit entry');

-- ## Direct writes are closed
select is(tests.try_as('enterprise_admin', $$update sims set name = 'Renamed' where id = tests.id('sim_a')$$),
  'ok 0', 'an enterprise admin edits no SIM row directly');
select is(tests.try_as('enterprise_admin', $$delete from sim_stages where sim_id = tests.id('sim_a')$$),
  'ok 0', 'nor its stages');

-- ## sim_org_availability is read per organization
insert into sim_org_availability (sim_id, org_id, offered)
values (tests.id('sim_global'), tests.id('org_a'), true), (tests.id('sim_global'), tests.id('org_b'), true);
select is(tests.seen(persona, $$select tests.name(org_id) from sim_org_availability$$), expected,
          format('sim_org_availability: %s reads %s', persona, expected))
  from (values
    ('rep', '{org_a}'::text[]), ('team_manager', '{org_a}'), ('enterprise_tm', '{org_a}'),
    ('enterprise_admin', '{org_a}'), ('platform_admin', '{org_a,org_b}'), ('other', '{org_b}'),
    ('suspended', '{}'), ('read_only', '{org_a}'), ('anon', '{}')
  ) v(persona, expected);
select is(tests.try_as('enterprise_admin', $$update sim_org_availability set offered = false$$),
  'ok 0', 'sim_org_availability: nobody writes it directly');
delete from sim_org_availability;

-- ## A platform admin's changes, audited once each
select tests.authenticate_as('platform_admin');
select tests.named('sim_new', (admin_save_sim(tests.sim_body(null, 'insurance')) ->> 'id')::uuid);
select is(jsonb_array_length(private.sim_snapshot(tests.id('sim_new')) -> 'stages'), 2, 'the SIM is created with its stages');
select is((select income_per_deal_cents from sims where id = tests.id('sim_new')), 20000::bigint, 'its income per deal follows');
select is(admin_save_sim(tests.sim_body(null, 'insurance', 'sim_new') || '{"name": "Life insurance"}') ->> 'name',
  'Life insurance', 'an edit replaces the fields');
select is(admin_set_sim_status(tests.id('sim_new'), 'retired') ->> 'changed', 'true', 'retired');
select is(admin_set_sim_status(tests.id('sim_new'), 'retired') ->> 'changed', 'false', 'retiring again changes nothing');
select is(admin_set_sim_status(tests.id('sim_new'), 'available') -> 'sim' ->> 'status', 'available', 'restored');
select is(admin_set_sim_availability(tests.id('sim_new'), tests.id('org_b'), false) ->> 'effective', 'false',
  'withheld from org B');
select is(admin_set_sim_availability(tests.id('sim_new'), tests.id('org_b'), false) ->> 'changed', 'false',
  'withholding again changes nothing');
select is(admin_set_sim_availability(tests.id('sim_new'), tests.id('org_b')) ->> 'effective', 'true',
  'back to the default');
select tests.clear_authentication();
select results_eq(
  $$select action, scope, actor_id, before ->> 'name', after ->> 'name', after ->> 'status',
           jsonb_array_length(after -> 'stages')
      from audit_log where target_type = 'sim' and action <> 'sim.availability' order by id$$,
  $$values ('sim.create', 'global', tests.id('platform_admin'), null, 'Insurance', 'available', 2),
           ('sim.update', 'global', tests.id('platform_admin'), 'Insurance', 'Life insurance', 'available', 2),
           ('sim.retire', 'global', tests.id('platform_admin'), 'Life insurance', 'Life insurance', 'retired', 2),
           ('sim.restore', 'global', tests.id('platform_admin'), 'Life insurance', 'Life insurance', 'available', 2)$$,
  'create, edit, retire and restore wrote one entry each, with the SIM and stages before and after');
select results_eq(
  $$select org_id, before, after from audit_log where action = 'sim.availability' order by id$$,
  $$values (tests.id('org_b'), '{"offered": null}'::jsonb, '{"offered": false}'::jsonb),
           (tests.id('org_b'), '{"offered": false}', '{"offered": null}')$$,
  'each availability change wrote one entry for the organization');

-- ## An enterprise admin's own SIMs, within the plan's limit (tests_plan: 3)
select tests.authenticate_as('enterprise_admin');
select tests.named('sim_a2', (admin_save_sim(tests.sim_body('org_a', 'second')) ->> 'id')::uuid);
select tests.named('sim_a3', (admin_save_sim(tests.sim_body('org_a', 'third')) ->> 'id')::uuid);
select throws_ok($$select admin_save_sim(tests.sim_body('org_a', 'fourth'))$$, '23514',
  format('organization %s has reached its SIM limit (3)', tests.id('org_a')), 'no more SIMs than the plan allows');
select is(admin_set_sim_status(tests.id('sim_a3'), 'retired') ->> 'changed', 'true', 'retiring one frees a place');
select isnt(admin_save_sim(tests.sim_body('org_a', 'fourth')) ->> 'id', null, 'so another fits');
select throws_ok($$select admin_set_sim_status(tests.id('sim_a3'), 'available')$$, '23514', null,
  'restoring beyond the limit is refused');
select throws_ok($$select admin_save_sim(tests.sim_body('org_b', 'theirs'))$$, '42501', null,
  'an enterprise admin creates no SIM for another organization');
select tests.clear_authentication();
select is((select count(*) from audit_log where target_type = 'sim' and actor_id = tests.id('enterprise_admin')
             and org_id = tests.id('org_a') and scope = 'org'), 4::bigint,
  'the enterprise admin''s four changes are audited for org A');

-- ## Bad SIMs are refused whole
select tests.authenticate_as('platform_admin');
select throws_ok($$select admin_save_sim(tests.sim_body(null, 'bad') || '{"stages": []}')$$, '22023',
  'a funnel has 1 to 20 stages', 'a funnel has stages');
select throws_ok($$select admin_save_sim(tests.sim_body(null, 'bad') || '{"stages": [{"key": "deal", "name": "Deal", "activity_type": "deal"}, {"key": "call", "name": "Call", "activity_type": "call", "conversion_rate": 0.5}]}')$$,
  '22023', 'the funnel ends in its one deal stage, and only there', 'the deal comes last');
select throws_ok($$select admin_save_sim(tests.sim_body(null, 'bad') || '{"stages": [{"key": "call", "name": "Call", "activity_type": "call", "conversion_rate": 0.123456}, {"key": "deal", "name": "Deal", "activity_type": "deal"}]}')$$,
  '22023', 'conversion rates keep at most five decimals', 'rates keep five decimals');
select throws_ok($$select admin_save_sim(tests.sim_body(null, 'bad') || '{"stages": [{"key": "call", "name": "Call", "activity_type": "call", "conversion_rate": 1.5}, {"key": "deal", "name": "Deal", "activity_type": "deal"}]}')$$,
  '23514', null, 'a rate above 1 is refused');
select throws_ok($$select admin_save_sim(tests.sim_body(null, 'bad') || '{"stages": [{"key": "call", "name": "Call", "activity_type": "call"}, {"key": "deal", "name": "Deal", "activity_type": "deal"}]}')$$,
  '23514', null, 'a stage before the deal needs its rate');
select throws_ok($$select admin_save_sim(tests.sim_body(null, 'bad') || '{"average_deal_value_cents": 0}')$$,
  '23514', null, 'a deal is worth something');
select throws_ok($$select admin_save_sim(tests.sim_body(null, 'Bad Key'))$$, '23514', null, 'keys are slugs');
select throws_ok($$select admin_save_sim(tests.sim_body(null, 'global'))$$, '23505', null, 'keys are unique per owner');
select throws_ok($$select admin_save_sim(tests.sim_body(null, 'other', 'sim_global'))$$, '22023', 'a SIM keeps its key',
  'an edit keeps the key');
select throws_ok($$select admin_save_sim(tests.sim_body('org_a', 'global', 'sim_global'))$$, '22023', 'a SIM keeps its owner',
  'an edit keeps the owner');
select throws_ok(format($$select admin_set_sim_status(%L, 'retired')$$, gen_random_uuid()), '22023', null,
  'a platform admin naming no SIM is told so');
select throws_ok($$select admin_set_sim_availability(tests.id('sim_a'), tests.id('org_b'), true)$$, '22023',
  format('no global SIM %s', tests.id('sim_a')), 'only global SIMs are offered per organization');
select tests.clear_authentication();
select is((select count(*) from sims where key = 'bad'), 0::bigint, 'no refused SIM was written');

-- ## Goals: retired or withheld SIMs keep their goals but are not picked again
select tests.authenticate_as('platform_admin');
select admin_set_sim_status(tests.id('sim_global'), 'retired');
select tests.clear_authentication();
select is(tests.try_as('rep', $$update goals set income_target_cents = 20000000 where id = tests.id('goal_rep')$$),
  'ok 1', 'a goal on a retired SIM is still edited');
select is(tests.try_as('rep', $$insert into activities (user_id, goal_id, type, occurred_on, quantity)
                                values (tests.id('rep'), tests.id('goal_rep'), 'call', date '2026-03-03', 5)$$),
  'ok 1', 'and still logs activities');
select is(tests.try_as('rep', $$insert into goals (user_id, sim_id, income_target_cents, period_kind, period_start)
                                values (tests.id('rep'), tests.id('sim_global'), 100, 'month', date '2026-04-01')$$),
  format('23514 SIM %s is retired or not offered to organization %s', tests.id('sim_global'), tests.id('org_a')),
  'a new goal cannot pick a retired SIM');
select tests.authenticate_as('platform_admin');
select admin_set_sim_status(tests.id('sim_global'), 'available');
select admin_set_sim_availability(tests.id('sim_global'), tests.id('org_a'), false);
select tests.clear_authentication();
select is(tests.try_as('rep', $$insert into goals (user_id, sim_id, income_target_cents, period_kind, period_start)
                                values (tests.id('rep'), tests.id('sim_global'), 100, 'month', date '2026-04-01')$$),
  format('23514 SIM %s is retired or not offered to organization %s', tests.id('sim_global'), tests.id('org_a')),
  'nor one withheld from its organization');
select is(tests.try_as('other', $$insert into goals (user_id, sim_id, income_target_cents, period_kind, period_start)
                                  values (tests.id('other'), tests.id('sim_global'), 100, 'month', date '2026-04-01')$$),
  'ok 1', 'other organizations still pick it');
update sims set offered_by_default = false where id = tests.id('sim_global');
select is(tests.try_as('other', $$insert into goals (user_id, sim_id, income_target_cents, period_kind, period_start)
                                  values (tests.id('other'), tests.id('sim_global'), 100, 'month', date '2026-04-01')$$),
  format('23514 SIM %s is retired or not offered to organization %s', tests.id('sim_global'), tests.id('org_b')),
  'a SIM offered to listed organizations only is not offered to the others');

select * from finish();
rollback;
