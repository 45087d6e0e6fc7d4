-- Login throttling: who may call it, what it stores, the thresholds and the lock escalation (at
-- controlled times through the private *_at functions), pruning, and two parallel failures on a
-- fresh key over two real connections (dblink), which must both count.
begin;
select plan(54);
select tests.create_world();
delete from login_throttles;

-- Shorthands at a controlled time: t0 plus `seconds`.
create function pg_temp.at(seconds integer) returns timestamptz
language sql immutable as $$ select timestamptz '2030-01-01 00:00:00+00' + seconds * interval '1 second' $$;
create function pg_temp.fail(email text, ip text, seconds integer) returns integer
language sql as $$ select private.login_throttle_record_at(email, ip, false, pg_temp.at(seconds)) $$;
create function pg_temp.check(email text, ip text, seconds integer) returns integer
language sql as $$ select private.login_throttle_check_at(email, ip, pg_temp.at(seconds)) $$;

-- ## Who may call it
select is(has_function_privilege(role, fn, 'execute'), allowed, format('%s %s execute %s', role, case when allowed then 'may' else 'may not' end, fn))
  from unnest(array['anon', 'authenticated', 'service_role']) role,
       unnest(array['public.login_throttle_check(text, text)', 'public.login_throttle_record(text, text, boolean)']) fn,
       lateral (select role = 'service_role' as allowed) a;
select is(tests.try_as(persona, $$select * from login_throttles$$), expected,
          format('login_throttles: %s reads nothing (%s)', persona, expected))
  from (values ('rep', '42501 permission denied for table login_throttles'),
               ('platform_admin', '42501 permission denied for table login_throttles'),
               ('anon', '42501 permission denied for table login_throttles')) v(persona, expected);
select is(tests.try_as('anon', $$select public.login_throttle_record('rep@example.test', '192.0.2.1', false)$$),
          '42501 permission denied for function login_throttle_record',
          'anon cannot record an attempt (no counter tampering from the API)');
select is(tests.try_as('rep', $$select public.login_throttle_check('rep@example.test', '192.0.2.1')$$),
          '42501 permission denied for function login_throttle_check',
          'a signed-in user cannot probe the counters either');

-- ## What it stores
select is(pg_temp.fail(' Someone@Example.TEST ', '192.0.2.1', 0), 0, 'a first failure needs no wait');
select is((select count(*) from login_throttles t where t::text ilike '%someone%' or t::text like '%192.0.2.1%'),
          0::bigint, 'neither the e-mail nor the address is stored as text');
select is((select count(*) from login_throttles where key_hash in (extensions.digest('someone@example.test', 'sha256'),
                                                                  extensions.digest('account:someone@example.test', 'sha256'))),
          0::bigint, 'the hashes are keyed: a dictionary of plain SHA-256 e-mails finds nothing');
select is((select failures from login_throttles where subject = 'account'), 1, 'one failure counted for the account');
select pg_temp.fail('someone@example.test', '192.0.2.1', 1);
select is((select array_agg(failures order by subject) from login_throttles), '{2,2}'::integer[],
          'the e-mail is trimmed and lower-cased: both spellings share one account counter');

-- ## The account threshold and the escalation
delete from login_throttles;
select is(array(select pg_temp.fail('victim@example.test', null, s) from unnest(array[0, 10, 20, 30]) s),
          '{0,0,0,0}'::integer[], 'four failures in a row: no lock yet');
select is(pg_temp.check('victim@example.test', null, 31), 0, 'after four failures the next attempt may go');
select is(pg_temp.fail('victim@example.test', null, 40), 60, 'the fifth failure locks the account for a minute');
select is(pg_temp.check('VICTIM@example.test', '198.51.100.7', 41), 59, 'during the lock any address is told to wait the rest of it');
select is(pg_temp.check('victim@example.test', null, 100), 0, 'the lock ends after its minute');
select is(array(select pg_temp.fail('victim@example.test', null, s) from unnest(array[100, 221, 462, 943, 1844]) s),
          '{120,240,480,900,900}'::integer[],
          'each further failure doubles the lock, up to 15 minutes, and sitting out a lock does not end the streak');
select is(pg_temp.fail('victim@example.test', null, 1900), 900, 'a failure during a lock extends it (15 minutes from then)');
select is(private.login_throttle_record_at('victim@example.test', null, true, pg_temp.at(2800)), 0,
          'a success returns no wait');
select is((select count(*) from login_throttles where subject = 'account'), 0::bigint, 'and clears the account''s streak');
select is(pg_temp.fail('victim@example.test', null, 2801), 0, 'so the next failure starts a new streak');

delete from login_throttles;
select pg_temp.fail('slow@example.test', null, s) from unnest(array[0, 60, 120, 180]) s;
select is(pg_temp.fail('slow@example.test', null, 180 + 900), 0,
          'fifteen minutes without a failure (nor a lock) end the streak: the fifth failure after it does not lock');
delete from login_throttles;
select pg_temp.fail('locked@example.test', null, s) from unnest(array[0, 1, 2, 3, 4]) s;
select is(pg_temp.fail('locked@example.test', null, 64 + 899), 120,
          'a streak lasts 15 minutes past the end of its lock');
select is(pg_temp.fail('locked@example.test', null, 963 + 120 + 900), 0, 'and ends 15 minutes after the last lock');
select is((select failures from login_throttles where subject = 'account'), 1, 'the new streak counts from one');

-- ## The address threshold
delete from login_throttles;
select is(array_agg(distinct pg_temp.fail(format('user%s@example.test', i), '203.0.113.9', i)), '{0}'::integer[],
          'nineteen failures from one address on nineteen accounts: no lock')
  from generate_series(1, 19) i;
select is(pg_temp.fail('user20@example.test', '203.0.113.9', 20), 60, 'the twentieth failure locks the address for a minute');
select is(pg_temp.check('fresh@example.test', '203.0.113.9', 21), 59, 'a locked address waits whatever the e-mail');
select is(pg_temp.check('fresh@example.test', '203.0.113.10', 21), 0, 'another address is not affected');
select is(private.login_throttle_record_at('user1@example.test', '203.0.113.9', true, pg_temp.at(22)), 58,
          'a success from a locked address still reports the address''s lock');
select is((select failures from login_throttles where subject = 'address'), 20,
          'and does not clear the address''s streak');
select is(pg_temp.fail('user21@example.test', '203.0.113.9', 90), 120, 'the address escalates like an account');

delete from login_throttles;
select pg_temp.fail(format('v6-%s@example.test', i), format('2001:db8:1:2::%s', i), i) from generate_series(1, 20) i;
select is(pg_temp.check('any@example.test', '2001:db8:1:2:ffff:ffff:ffff:ffff', 21), 59,
          'IPv6 addresses count per /64: twenty addresses of one /64 lock it');
select is(pg_temp.check('any@example.test', '2001:db8:1:3::1', 21), 0, 'the next /64 is not affected');
select is(pg_temp.check('any@example.test', '::ffff:203.0.113.9', 21), 0, 'an IPv4-mapped address is its own subject');

-- ## Bad input
select throws_ok($$select public.login_throttle_check(null, '192.0.2.1')$$, '22023', 'an e-mail of 1 to 320 characters is required',
                 'a missing e-mail is a bad request, not a shared counter');
select throws_ok($$select public.login_throttle_record('  ', '192.0.2.1', false)$$, '22023', null, 'a blank e-mail is refused');
select throws_ok(format('select public.login_throttle_check(%L, null)', repeat('a', 321)), '22023', null, 'an oversized e-mail is refused');
select throws_ok(format('select public.login_throttle_check(%L, %L)', 'a@example.test', repeat('1', 101)), '22023', null,
                 'an oversized address is refused');
select throws_ok($$select public.login_throttle_record('a@example.test', null, null)$$, '22023', null, 'the outcome is required');
select is(public.login_throttle_check('a@example.test', 'unknown'), 0, 'an address that is no IP is counted as given');

-- ## Pruning
delete from login_throttles;
insert into login_throttles (subject, key_hash, failures, last_failure_at, locked_until)
select 'account', extensions.digest(i::text, 'sha256'), 3, pg_temp.at(-3600), null from generate_series(1, 150) i
union all
select 'address', extensions.digest('recent', 'sha256'), 30, pg_temp.at(-600), pg_temp.at(300)
union all
select 'address', extensions.digest('lock ended 5 minutes ago', 'sha256'), 25, pg_temp.at(-1200), pg_temp.at(-300);
select pg_temp.fail('pruner@example.test', null, 0);
select is((select count(*) from login_throttles where last_failure_at = pg_temp.at(-3600)), 50::bigint,
          'one record prunes at most 100 finished streaks');
select is((select count(*) from login_throttles where last_failure_at > pg_temp.at(-3600)), 3::bigint,
          'and leaves streaks alone that are not over, even long after their last failure');
select pg_temp.fail('pruner@example.test', null, 1);
select is((select count(*) from login_throttles where last_failure_at = pg_temp.at(-3600)), 0::bigint,
          'the next record prunes the rest');

-- ## Two parallel failures on a key nobody has used (committed work, removed at the end)
create extension if not exists dblink with schema extensions;
create temp table race as
select format('race-%s@example.test', gen_random_uuid()) as email,
       format('dbname=%s port=%s user=postgres', current_database(), current_setting('port'))
         || coalesce(' host=' || host(inet_server_addr()), '') as conn;
select dblink_connect('first', conn), dblink_connect('second', conn) from race;
select dblink_exec('first', 'begin');
select is((select w from race, dblink('first', format('select public.login_throttle_record(%L, null, false)', email)) t(w int)),
          0, 'the first failure inserts the counter (not committed yet)');
select is(dblink_send_query('second', format('select public.login_throttle_record(%L, null, false)', email)), 1,
          'a second failure for the same account starts in parallel')
  from race;
-- Polls for up to 5 s: the parallel call is in flight once it waits on the first one's row lock.
create function pg_temp.a_call_waits_on_a_lock() returns boolean
language plpgsql as $$
begin
  for _ in 1..50 loop
    perform pg_stat_clear_snapshot();  -- activity is otherwise read once per transaction
    if exists (select 1 from pg_stat_activity
                where query like 'select public.login_throttle_record(%race-%' and wait_event_type = 'Lock') then
      return true;
    end if;
    perform pg_sleep(0.1);
  end loop;
  return false;
end
$$;
select ok(pg_temp.a_call_waits_on_a_lock(), 'the second failure waits for the first one''s row lock instead of failing');
select dblink_exec('first', 'commit');
select is((select w from dblink_get_result('second') t(w int)), 0, 'once the first commits, the second completes without error');
select is((select t.failures from race, private.login_throttle_keys(race.email, null) k
             join login_throttles t on t.subject = k.subject and t.key_hash = k.key_hash),
          2, 'both failures counted');
select dblink_exec('first', format($$delete from public.login_throttles t using private.login_throttle_keys(%L, null) k
                                     where t.subject = k.subject and t.key_hash = k.key_hash$$, email)) from race;
select dblink_disconnect('first'), dblink_disconnect('second');

select * from finish();
rollback;
