-- notifications (the in-app toast feed) × select/insert/update/delete × every persona; the
-- trigger that raises a toast per new message unless the recipient turned toasts off;
-- notification_feed and mark_notifications_seen.
begin;
select plan(69);
select tests.create_world();
select tests.create_messages();

-- ## The trigger: one toast per message, for its recipient
select is(tests.seen(persona, $$select tests.name(message_id) || '>' || tests.name(user_id) from notifications$$),
  expected, format('notifications: %s reads %s', persona, expected))
  from (values
    ('rep', '{msg_tm>rep}'::text[]), ('rep2', '{msg_ea>rep2}'), ('team_manager', '{msg_rep>team_manager}'),
    ('enterprise_tm', '{}'), ('enterprise_admin', '{}'), ('platform_admin', '{}'), ('other', '{}'),
    ('suspended', '{}'), ('read_only', '{msg_tm>rep}'), ('anon', '{}')
  ) v(persona, expected);
select is((select count(*) from notifications), 3::bigint, 'one toast per message, none for its sender');
select is((select org_id = tests.id('org_a') and thread_id = tests.id('thread_tm') and kind = 'message' and seen_at is null
             from notifications where message_id = tests.id('msg_tm')), true,
  'a toast names the thread and the organization, unseen');

-- ## Nobody writes toasts through the API; the recipient marks theirs seen
select is(tests.try_as(persona, $$insert into notifications (user_id, org_id, kind, message_id, thread_id)
    values (tests.id('rep'), tests.id('org_a'), 'message', tests.id('msg_tm'), tests.id('thread_tm'))$$),
  '42501 permission denied for table notifications', format('notifications: %s cannot raise a toast', persona))
  from unnest(array['rep', 'team_manager', 'enterprise_admin', 'platform_admin', 'other', 'read_only', 'anon']) persona;
select is(tests.try_as(persona, $$update notifications set seen_at = now() where message_id = tests.id('msg_tm')$$),
  expected, format('notifications: %s marking the rep''s toast seen gets %s', persona, expected))
  from (values
    ('rep', 'ok 1'), ('rep2', 'ok 0'), ('team_manager', 'ok 0'), ('enterprise_tm', 'ok 0'),
    ('enterprise_admin', 'ok 0'), ('platform_admin', 'ok 0'), ('other', 'ok 0'), ('suspended', 'ok 0'),
    ('read_only', 'ok 0'), ('anon', '42501 permission denied for table notifications')
  ) v(persona, expected);
select is(tests.try_as(persona, $$update notifications set user_id = tests.id('team_manager')$$),
  '42501 permission denied for table notifications', format('notifications: %s cannot readdress a toast', persona))
  from unnest(array['rep', 'team_manager', 'enterprise_admin', 'anon']) persona;
select is(tests.try_as(persona, $$delete from notifications$$),
  '42501 permission denied for table notifications', format('notifications: %s cannot delete toasts', persona))
  from unnest(array['rep', 'team_manager', 'enterprise_admin', 'platform_admin', 'read_only', 'anon']) persona;

-- ## notification_feed and mark_notifications_seen per persona
select is(tests.seen(persona, $$select tests.name((n->>'message_id')::uuid) || ':' || (n->>'preview')
    from jsonb_array_elements(public.notification_feed()->'notifications') n$$),
  expected, format('notification_feed: %s reads %s', persona, expected))
  from (values
    ('rep', '{"msg_tm:How is it going?"}'::text[]), ('rep2', '{"msg_ea:Welcome aboard"}'),
    ('team_manager', '{"msg_rep:Fine, 20 calls today"}'), ('enterprise_admin', '{}'),
    ('platform_admin', '{}'), ('other', '{}'), ('suspended', '{}'), ('read_only', '{"msg_tm:How is it going?"}')
  ) v(persona, expected);
select is(tests.try_as('anon', $$select public.notification_feed()$$),
  '42501 permission denied for function notification_feed', 'notification_feed: anon may not call it');
select is(tests.seen('rep', $$select (public.notification_feed()->'notifications'->0->'sender'->>'id')::uuid::text$$),
  array[tests.id('team_manager')::text], 'notification_feed: a toast names its sender');
select is(tests.seen('rep', format($$select jsonb_array_length(public.notification_feed(%s)->'notifications')::text$$,
    (select id from notifications where message_id = tests.id('msg_tm')))), '{0}'::text[],
  'notification_feed: nothing after the last toast');
select is(tests.seen('rep', $$select (public.notification_feed(0, 1)->>'more')$$), '{true}'::text[],
  'notification_feed: a full page says more may follow');
select is(tests.try_as('rep', format($$select public.notification_feed(0, %s)$$, rows)),
  '22023 a page has 1 to 100 notifications', format('notification_feed: a page of %s is refused', rows))
  from (values (0), (101)) v(rows);
select is(tests.try_as(persona, $$select public.mark_notifications_seen(9223372036854775807)$$),
  expected, format('mark_notifications_seen: %s gets %s', persona, expected))
  from (values
    ('rep', 'ok 1'), ('team_manager', 'ok 1'), ('platform_admin', 'ok 1'), ('other', 'ok 1'),
    ('read_only', 'ok 1'), ('anon', '42501 permission denied for function mark_notifications_seen')
  ) v(persona, expected);
select tests.authenticate_as('team_manager');
select is(public.mark_notifications_seen(9223372036854775807), 1, 'the team manager marks their one toast seen');
select is(public.mark_notifications_seen(9223372036854775807), 0, 'and nothing a second time');
select tests.authenticate_as('read_only');
select is(public.mark_notifications_seen(9223372036854775807), 0, 'a read-only session marks nothing');
select tests.clear_authentication();
select is((select array_agg(tests.name(user_id) order by 1) from notifications where seen_at is not null),
  '{team_manager}'::text[], 'only the team manager''s own toast is seen');

-- ## Preferences: toasts off, then on again; the badge does not depend on them
insert into notification_preferences (user_id, in_app_toasts) values (tests.id('rep'), false);
select tests.authenticate_as('team_manager');
insert into messages (thread_id, body) values (tests.id('thread_tm'), 'Toasts are off');
select tests.authenticate_as('rep');
select is(public.unread_message_count(), 2, 'the unread badge counts the message anyway');
select tests.clear_authentication();
select is((select count(*) from notifications where user_id = tests.id('rep')), 1::bigint,
  'no toast while the rep turned toasts off');
update notification_preferences set in_app_toasts = true where user_id = tests.id('rep');
select tests.authenticate_as('team_manager');
insert into messages (thread_id, body) values (tests.id('thread_tm'), 'Toasts are on');
select tests.clear_authentication();
select is((select count(*) from notifications where user_id = tests.id('rep')), 2::bigint,
  'a toast again once the rep turned toasts on');

-- ## A deleted copy takes its toast out of the feed; deleting the message deletes the toast
select tests.authenticate_as('rep');
select is(public.delete_message_copy(tests.id('msg_tm')), true, 'the rep deletes their copy of msg_tm');
select is(array(select n->>'preview' from jsonb_array_elements(public.notification_feed()->'notifications') n),
  '{"Toasts are on"}'::text[], 'its toast leaves the rep''s feed');
select tests.clear_authentication();
delete from messages where id = tests.id('msg_ea');
select is((select count(*) from notifications where user_id = tests.id('rep2')), 0::bigint,
  'deleting a message (retention) deletes its toasts');

select * from finish();
rollback;
