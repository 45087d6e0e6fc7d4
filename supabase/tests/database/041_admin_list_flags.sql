-- admin_list_flags × every persona: only a platform admin in their own session lists the flags
-- set, filtered by feature, scope, organization and user, one page at a time with the total.
begin;
select plan(19);
select tests.create_world();
select tests.create_flags();

select is(tests.try_as(persona, $$select admin_list_flags()$$), expected,
  format('admin_list_flags: %s gets %s', persona, expected))
  from (values
    ('rep', '42501 only a platform admin in their own session lists flags'),
    ('team_manager', '42501 only a platform admin in their own session lists flags'),
    ('enterprise_tm', '42501 only a platform admin in their own session lists flags'),
    ('enterprise_admin', '42501 only a platform admin in their own session lists flags'),
    ('other', '42501 only a platform admin in their own session lists flags'),
    ('suspended', '42501 only a platform admin in their own session lists flags'),
    ('read_only', '42501 only a platform admin in their own session lists flags'),
    ('platform_admin', 'ok 1'),
    ('anon', '42501 permission denied for function admin_list_flags')
  ) v(persona, expected);

select tests.authenticate_as('platform_admin');
create function pg_temp.listed(answer jsonb) returns text[]
language sql as $$
  select coalesce(array_agg(tests.name((f ->> 'id')::uuid) order by tests.name((f ->> 'id')::uuid)), '{}')
    from jsonb_array_elements(answer -> 'flags') e(f)
$$;
select is(pg_temp.listed(admin_list_flags()), '{flag_global,flag_org_a,flag_org_b,flag_rep,flag_rep2}'::text[],
  'every flag');
select is((admin_list_flags() ->> 'total')::int, 5, 'with the total');
select is(pg_temp.listed(admin_list_flags(feature => 'org_dashboard')), '{flag_org_a,flag_org_b}', 'by feature');
select is(pg_temp.listed(admin_list_flags(flag_scope => 'user')), '{flag_rep,flag_rep2}'::text[], 'by scope');
select is(pg_temp.listed(admin_list_flags(org => tests.id('org_b'))), '{flag_org_b}', 'by organization');
select is(pg_temp.listed(admin_list_flags(member => tests.id('rep2'))), '{flag_rep2}', 'by user');
select is(admin_list_flags(page_size => 2, page_offset => 2) -> 'total', '5', 'a page keeps the total');
select is(jsonb_array_length(admin_list_flags(page_size => 2, page_offset => 4) -> 'flags'), 1, 'the last page holds the rest');
select throws_ok($$select admin_list_flags(page_size => 0)$$, '22023', null, 'a page holds at least one flag');
select throws_ok($$select admin_list_flags(page_offset => -1)$$, '22023', null, 'an offset is not negative');
select tests.clear_authentication();

select * from finish();
rollback;
