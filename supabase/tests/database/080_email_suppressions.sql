-- E-mail suppressions: only the service role writes them; a user sees only their own address.
begin;
select plan(12);
select tests.create_world();

set local role service_role;
insert into email_suppressions (address, reason, detail)
values ('rep@example.test', 'bounced', '550 5.1.1 mailbox does not exist'),
       ('other@example.test', 'complained', '');
reset role;

select is(tests.seen('rep', $$select address || ' ' || reason from email_suppressions$$),
          array['rep@example.test bounced'], 'a rep sees that their own address is suppressed');
select is(tests.seen(persona, $$select address from email_suppressions$$), '{}'::text[],
          format('%s sees no other address', persona))
  from unnest(array['team_manager', 'enterprise_admin', 'platform_admin']) persona;
select is(tests.try_as('anon', $$select * from email_suppressions$$),
          '42501 permission denied for table email_suppressions', 'anon reads nothing');
select is(tests.try_as('rep', $$delete from email_suppressions where address = 'rep@example.test'$$),
          '42501 permission denied for table email_suppressions', 'a rep cannot lift their own suppression');
select is(tests.try_as('platform_admin', $$insert into email_suppressions (address, reason) values ('x@example.test', 'bounced')$$),
          '42501 permission denied for table email_suppressions', 'nobody adds one through the API');
select is(tests.try_as('enterprise_admin', $$update email_suppressions set reason = 'complained'$$),
          '42501 permission denied for table email_suppressions', 'nor changes one');

select throws_ok($$insert into email_suppressions (address, reason) values ('Rep2@Example.test', 'bounced')$$,
                 '23514', null, 'addresses are stored lower-cased');
select throws_ok($$insert into email_suppressions (address, reason) values ('not-an-address', 'bounced')$$,
                 '23514', null, 'an address has an @ with something on both sides');
select throws_ok($$insert into email_suppressions (address, reason) values ('rep2@example.test', 'unsubscribed')$$,
                 '23514', null, 'only bounces and complaints suppress');
select throws_ok($$insert into email_suppressions (address, reason) values ('rep@example.test', 'complained')$$,
                 '23505', null, 'one row per address');

select * from finish();
rollback;
