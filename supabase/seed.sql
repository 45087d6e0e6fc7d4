-- Generated from data/ by the seed loader (supabase/seed); safe to run again.
-- Regenerate: cargo run -q -p seed --bin seed-sql > supabase/seed.sql

-- plans and add-ons (data/plans.yml)
do $$
declare unknown text;
begin
  select string_agg(f, ', ') into unknown
    from unnest(array['csv_export', 'member_admin', 'messaging', 'org_dashboard', 'referral_rules', 'voice_ai', 'what_if']::text[]) f where f not in (select key from public.features);
  if unknown is not null then
    raise exception 'data/plans.yml names unknown features: %', unknown;
  end if;
end
$$;
insert into public.plans as t (key, name, description, price_cents, currency, billing_interval, max_users, max_sims, payment_grace_days, features, sort_order)
values
  ('solo', 'Solo', 'One rep, one income model, the daily targets and tracker.', 2900, 'usd', 'month', 1, 1, 7, array['csv_export']::text[], 1),
  ('team', 'Team', 'A sales team with its managers, what-if planning and in-app coaching.', 4900, 'usd', 'month', 50, 3, 7, array['csv_export', 'what_if', 'referral_rules', 'messaging', 'org_dashboard', 'member_admin']::text[], 2),
  ('team_annual', 'Team (annual)', 'The Team plan billed yearly, two months free.', 49000, 'usd', 'year', 50, 3, 14, array['csv_export', 'what_if', 'referral_rules', 'messaging', 'org_dashboard', 'member_admin']::text[], 3),
  ('enterprise', 'Enterprise', 'Divisions, enterprise team managers, every income model and dashboard.', 8900, 'usd', 'month', 2000, 25, 14, array['csv_export', 'what_if', 'referral_rules', 'messaging', 'org_dashboard', 'member_admin']::text[], 4)
on conflict (key) do update set name = excluded.name, description = excluded.description, price_cents = excluded.price_cents, currency = excluded.currency, billing_interval = excluded.billing_interval, max_users = excluded.max_users, max_sims = excluded.max_sims, payment_grace_days = excluded.payment_grace_days, features = excluded.features, active = true, sort_order = excluded.sort_order
  where (t.name, t.description, t.price_cents, t.currency, t.billing_interval, t.max_users, t.max_sims, t.payment_grace_days, t.features, t.active, t.sort_order) is distinct from (excluded.name, excluded.description, excluded.price_cents, excluded.currency, excluded.billing_interval, excluded.max_users, excluded.max_sims, excluded.payment_grace_days, excluded.features, true, excluded.sort_order);
update public.plans set active = false where active and key <> all (array['solo', 'team', 'team_annual', 'enterprise']::text[]);
insert into public.add_ons as t (key, name, description, price_cents, currency, billing_interval, sim_count, features, sort_order)
values
  ('voice_ai_single_sim', 'Voice AI — single SIM', 'Voice AI role-play for the stages of one income model.', 1900, 'usd', 'month', 1, array['voice_ai']::text[], 1),
  ('voice_ai_three_sims', 'Voice AI — 3-SIM bundle', 'Voice AI role-play for three income models, at the price of two and a half.', 4700, 'usd', 'month', 3, array['voice_ai']::text[], 2)
on conflict (key) do update set name = excluded.name, description = excluded.description, price_cents = excluded.price_cents, currency = excluded.currency, billing_interval = excluded.billing_interval, sim_count = excluded.sim_count, features = excluded.features, active = true, sort_order = excluded.sort_order
  where (t.name, t.description, t.price_cents, t.currency, t.billing_interval, t.sim_count, t.features, t.active, t.sort_order) is distinct from (excluded.name, excluded.description, excluded.price_cents, excluded.currency, excluded.billing_interval, excluded.sim_count, excluded.features, true, excluded.sort_order);
update public.add_ons set active = false where active and key <> all (array['voice_ai_single_sim', 'voice_ai_three_sims']::text[]);

-- SIM b2b-saas (data/sims)
insert into public.sims as t (org_id, key, name, industry, description, average_deal_value_cents, commission_rate, sources, created_by)
values (null, 'b2b-saas', 'B2B SaaS account executive', 'B2B SaaS', 'Calls -> discovery meetings -> qualified opportunities -> closed-won.', 2400000, 0.10000, '- Cold calls to booked meetings: 2-5 % of dials; 4 % taken.
- Meeting to qualified opportunity: 40-60 % of first meetings qualify; 50 % taken.
- Qualified opportunity to closed-won: mid-market win rates of 20-30 %; 25 % taken.
- Deal value: a mid-market first-year contract value around $24,000.
- Commission: AE plans commonly pay around 10 % of first-year ACV at quota.', null)
on conflict on constraint sims_key_unique do update set name = excluded.name, industry = excluded.industry, description = excluded.description, average_deal_value_cents = excluded.average_deal_value_cents, commission_rate = excluded.commission_rate, sources = excluded.sources
  where (t.name, t.industry, t.description, t.average_deal_value_cents, t.commission_rate, t.sources) is distinct from (excluded.name, excluded.industry, excluded.description, excluded.average_deal_value_cents, excluded.commission_rate, excluded.sources);
with desired (position, key, name, activity_type, conversion_rate) as (values (1, 'call', 'Outbound call', 'call'::public.activity_type, 0.04000::numeric), (2, 'appointment', 'Discovery meeting', 'appointment'::public.activity_type, 0.50000::numeric), (3, 'opportunity', 'Qualified opportunity', 'custom'::public.activity_type, 0.25000::numeric), (4, 'deal', 'Closed-won', 'deal'::public.activity_type, null::numeric)),
sim as (select id from public.sims where org_id is null and key = 'b2b-saas')
delete from public.sim_stages st using sim where st.sim_id = sim.id and not exists (select 1 from desired d where d.position = st.position and d.key = st.key and d.name = st.name and d.activity_type = st.activity_type and d.conversion_rate is not distinct from st.conversion_rate);
with desired (position, key, name, activity_type, conversion_rate) as (values (1, 'call', 'Outbound call', 'call'::public.activity_type, 0.04000::numeric), (2, 'appointment', 'Discovery meeting', 'appointment'::public.activity_type, 0.50000::numeric), (3, 'opportunity', 'Qualified opportunity', 'custom'::public.activity_type, 0.25000::numeric), (4, 'deal', 'Closed-won', 'deal'::public.activity_type, null::numeric)),
sim as (select id from public.sims where org_id is null and key = 'b2b-saas')
insert into public.sim_stages (sim_id, position, key, name, activity_type, conversion_rate)
select sim.id, d.position, d.key, d.name, d.activity_type, d.conversion_rate from desired d, sim
on conflict (sim_id, position) do nothing;

-- SIM insurance (data/sims)
insert into public.sims as t (org_id, key, name, industry, description, average_deal_value_cents, commission_rate, sources, created_by)
values (null, 'insurance', 'Insurance agent (personal lines)', 'Insurance', 'Calls -> needs-analysis appointments -> policies written.', 150000, 0.40000, '- Calls to booked appointments: agency call-centre benchmarks for aged/warm internet leads are
  commonly 5-15 % set rates; 12 % taken.
- Appointment to policy: closing ratios for face-to-face or video needs analysis are often
  quoted at 30-50 %; 40 % taken.
- Deal value: an average annual premium around $1,500 for a term-life plus auto/home bundle.
- Commission: first-year commission on term life is often 50-100 % of premium and on P&C
  10-15 %; a blended 40 % of first-year premium is taken.', null)
on conflict on constraint sims_key_unique do update set name = excluded.name, industry = excluded.industry, description = excluded.description, average_deal_value_cents = excluded.average_deal_value_cents, commission_rate = excluded.commission_rate, sources = excluded.sources
  where (t.name, t.industry, t.description, t.average_deal_value_cents, t.commission_rate, t.sources) is distinct from (excluded.name, excluded.industry, excluded.description, excluded.average_deal_value_cents, excluded.commission_rate, excluded.sources);
with desired (position, key, name, activity_type, conversion_rate) as (values (1, 'call', 'Lead call', 'call'::public.activity_type, 0.12000::numeric), (2, 'appointment', 'Needs analysis', 'appointment'::public.activity_type, 0.40000::numeric), (3, 'deal', 'Policy written', 'deal'::public.activity_type, null::numeric)),
sim as (select id from public.sims where org_id is null and key = 'insurance')
delete from public.sim_stages st using sim where st.sim_id = sim.id and not exists (select 1 from desired d where d.position = st.position and d.key = st.key and d.name = st.name and d.activity_type = st.activity_type and d.conversion_rate is not distinct from st.conversion_rate);
with desired (position, key, name, activity_type, conversion_rate) as (values (1, 'call', 'Lead call', 'call'::public.activity_type, 0.12000::numeric), (2, 'appointment', 'Needs analysis', 'appointment'::public.activity_type, 0.40000::numeric), (3, 'deal', 'Policy written', 'deal'::public.activity_type, null::numeric)),
sim as (select id from public.sims where org_id is null and key = 'insurance')
insert into public.sim_stages (sim_id, position, key, name, activity_type, conversion_rate)
select sim.id, d.position, d.key, d.name, d.activity_type, d.conversion_rate from desired d, sim
on conflict (sim_id, position) do nothing;

-- SIM mortgage (data/sims)
insert into public.sims as t (org_id, key, name, industry, description, average_deal_value_cents, commission_rate, sources, created_by)
values (null, 'mortgage', 'Mortgage loan officer', 'Mortgage', 'Calls -> applications -> funded loans.', 40000000, 0.01000, '- Calls to completed applications: purchased-lead benchmarks run 5-10 %; 8 % taken.
- Application to funded loan: industry pull-through rates (applications that fund) are commonly
  quoted at 60-75 %; 65 % taken.
- Deal value: an average US purchase loan around $400,000 (MBA weekly survey, 2024-2025).
- Commission: loan-officer compensation is commonly 50-150 basis points of the loan amount;
  100 bps (1 %) taken.', null)
on conflict on constraint sims_key_unique do update set name = excluded.name, industry = excluded.industry, description = excluded.description, average_deal_value_cents = excluded.average_deal_value_cents, commission_rate = excluded.commission_rate, sources = excluded.sources
  where (t.name, t.industry, t.description, t.average_deal_value_cents, t.commission_rate, t.sources) is distinct from (excluded.name, excluded.industry, excluded.description, excluded.average_deal_value_cents, excluded.commission_rate, excluded.sources);
with desired (position, key, name, activity_type, conversion_rate) as (values (1, 'call', 'Lead call', 'call'::public.activity_type, 0.08000::numeric), (2, 'application', 'Application taken', 'appointment'::public.activity_type, 0.65000::numeric), (3, 'deal', 'Loan funded', 'deal'::public.activity_type, null::numeric)),
sim as (select id from public.sims where org_id is null and key = 'mortgage')
delete from public.sim_stages st using sim where st.sim_id = sim.id and not exists (select 1 from desired d where d.position = st.position and d.key = st.key and d.name = st.name and d.activity_type = st.activity_type and d.conversion_rate is not distinct from st.conversion_rate);
with desired (position, key, name, activity_type, conversion_rate) as (values (1, 'call', 'Lead call', 'call'::public.activity_type, 0.08000::numeric), (2, 'application', 'Application taken', 'appointment'::public.activity_type, 0.65000::numeric), (3, 'deal', 'Loan funded', 'deal'::public.activity_type, null::numeric)),
sim as (select id from public.sims where org_id is null and key = 'mortgage')
insert into public.sim_stages (sim_id, position, key, name, activity_type, conversion_rate)
select sim.id, d.position, d.key, d.name, d.activity_type, d.conversion_rate from desired d, sim
on conflict (sim_id, position) do nothing;

-- SIM real-estate (data/sims)
insert into public.sims as t (org_id, key, name, industry, description, average_deal_value_cents, commission_rate, sources, created_by)
values (null, 'real-estate', 'Residential real estate (listing agent)', 'Real estate', 'Prospecting calls -> listing appointments -> signed listings -> closed sales.', 40000000, 0.01750, '- Cold prospecting calls (expired/FSBO/circle): about 1 conversation-to-appointment in 10
  connected calls is the figure coaching programmes commonly quote for experienced agents.
- Listing appointment to signed listing: 30-50 % for agents who pre-qualify; 35 % taken.
- Signed listing to closed sale: NAR data puts the share of listings that sell (rather than
  expire or are withdrawn) around 80-90 % in balanced markets; 80 % taken to stay conservative.
- Deal value: US median existing-home price around $400,000 (NAR, 2024-2025).
- Commission: the listing side''s share after the 2024 NAR settlement is commonly 2.5-3 %, and
  the agent''s split with the brokerage is often 70 %: 2.5 % x 70 % = 1.75 % of the price.', null)
on conflict on constraint sims_key_unique do update set name = excluded.name, industry = excluded.industry, description = excluded.description, average_deal_value_cents = excluded.average_deal_value_cents, commission_rate = excluded.commission_rate, sources = excluded.sources
  where (t.name, t.industry, t.description, t.average_deal_value_cents, t.commission_rate, t.sources) is distinct from (excluded.name, excluded.industry, excluded.description, excluded.average_deal_value_cents, excluded.commission_rate, excluded.sources);
with desired (position, key, name, activity_type, conversion_rate) as (values (1, 'call', 'Prospecting call', 'call'::public.activity_type, 0.10000::numeric), (2, 'appointment', 'Listing appointment', 'appointment'::public.activity_type, 0.35000::numeric), (3, 'listing', 'Signed listing', 'custom'::public.activity_type, 0.80000::numeric), (4, 'deal', 'Closed sale', 'deal'::public.activity_type, null::numeric)),
sim as (select id from public.sims where org_id is null and key = 'real-estate')
delete from public.sim_stages st using sim where st.sim_id = sim.id and not exists (select 1 from desired d where d.position = st.position and d.key = st.key and d.name = st.name and d.activity_type = st.activity_type and d.conversion_rate is not distinct from st.conversion_rate);
with desired (position, key, name, activity_type, conversion_rate) as (values (1, 'call', 'Prospecting call', 'call'::public.activity_type, 0.10000::numeric), (2, 'appointment', 'Listing appointment', 'appointment'::public.activity_type, 0.35000::numeric), (3, 'listing', 'Signed listing', 'custom'::public.activity_type, 0.80000::numeric), (4, 'deal', 'Closed sale', 'deal'::public.activity_type, null::numeric)),
sim as (select id from public.sims where org_id is null and key = 'real-estate')
insert into public.sim_stages (sim_id, position, key, name, activity_type, conversion_rate)
select sim.id, d.position, d.key, d.name, d.activity_type, d.conversion_rate from desired d, sim
on conflict (sim_id, position) do nothing;

-- SIM solar (data/sims)
insert into public.sims as t (org_id, key, name, industry, description, average_deal_value_cents, commission_rate, sources, created_by)
values (null, 'solar', 'Residential solar sales', 'Solar', 'Contacts -> consultations -> signed contracts -> installed systems.', 2500000, 0.05000, '- Calls/knocks to set appointments: setter benchmarks of roughly 1 appointment per 20 contacts
  are common; 5 % taken.
- Consultation to signed contract: closers quote 20-35 % on sat appointments; 25 % taken.
- Contract to installed system: cancellations between signing and install run 10-25 %
  (financing, permits, roof issues); 80 % taken.
- Deal value: a 7-8 kW system at about $3 per watt, roughly $25,000 before incentives.
- Commission: closers are commonly paid on a per-watt basis around $0.25-0.50/W; about 5 % of
  the system price is taken.', null)
on conflict on constraint sims_key_unique do update set name = excluded.name, industry = excluded.industry, description = excluded.description, average_deal_value_cents = excluded.average_deal_value_cents, commission_rate = excluded.commission_rate, sources = excluded.sources
  where (t.name, t.industry, t.description, t.average_deal_value_cents, t.commission_rate, t.sources) is distinct from (excluded.name, excluded.industry, excluded.description, excluded.average_deal_value_cents, excluded.commission_rate, excluded.sources);
with desired (position, key, name, activity_type, conversion_rate) as (values (1, 'call', 'Contact (call or door)', 'call'::public.activity_type, 0.05000::numeric), (2, 'appointment', 'Consultation', 'appointment'::public.activity_type, 0.25000::numeric), (3, 'contract', 'Signed contract', 'custom'::public.activity_type, 0.80000::numeric), (4, 'deal', 'Installed system', 'deal'::public.activity_type, null::numeric)),
sim as (select id from public.sims where org_id is null and key = 'solar')
delete from public.sim_stages st using sim where st.sim_id = sim.id and not exists (select 1 from desired d where d.position = st.position and d.key = st.key and d.name = st.name and d.activity_type = st.activity_type and d.conversion_rate is not distinct from st.conversion_rate);
with desired (position, key, name, activity_type, conversion_rate) as (values (1, 'call', 'Contact (call or door)', 'call'::public.activity_type, 0.05000::numeric), (2, 'appointment', 'Consultation', 'appointment'::public.activity_type, 0.25000::numeric), (3, 'contract', 'Signed contract', 'custom'::public.activity_type, 0.80000::numeric), (4, 'deal', 'Installed system', 'deal'::public.activity_type, null::numeric)),
sim as (select id from public.sims where org_id is null and key = 'solar')
insert into public.sim_stages (sim_id, position, key, name, activity_type, conversion_rate)
select sim.id, d.position, d.key, d.name, d.activity_type, d.conversion_rate from desired d, sim
on conflict (sim_id, position) do nothing;

-- demo organization (data/demo.yml, local runs only)
insert into public.organizations (name, slug, kind, plan_key) values ('Demo Realty', 'demo-realty', 'enterprise', 'enterprise')
on conflict (slug) do nothing;
insert into public.teams (org_id, name, division) values ((select id from public.organizations where slug = 'demo-realty'), 'East', 'Residential')
on conflict (org_id, name) do nothing;
insert into public.teams (org_id, name, division) values ((select id from public.organizations where slug = 'demo-realty'), 'West', 'Residential')
on conflict (org_id, name) do nothing;
insert into public.teams (org_id, name, division) values ((select id from public.organizations where slug = 'demo-realty'), 'Commercial', 'Commercial')
on conflict (org_id, name) do nothing;
insert into auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
select '00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated', 'authenticated', 'admin@demo.salespulse.test', extensions.crypt('salespulse-demo', extensions.gen_salt('bf', 10)), now(), '{"provider":"email","providers":["email"]}', jsonb_build_object('full_name', 'Ada Admin'), now(), now()
where not exists (select 1 from auth.users where email = 'admin@demo.salespulse.test');
insert into auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
select '00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated', 'authenticated', 'etm@demo.salespulse.test', extensions.crypt('salespulse-demo', extensions.gen_salt('bf', 10)), now(), '{"provider":"email","providers":["email"]}', jsonb_build_object('full_name', 'Eli Enterprise-Manager'), now(), now()
where not exists (select 1 from auth.users where email = 'etm@demo.salespulse.test');
insert into auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
select '00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated', 'authenticated', 'manager@demo.salespulse.test', extensions.crypt('salespulse-demo', extensions.gen_salt('bf', 10)), now(), '{"provider":"email","providers":["email"]}', jsonb_build_object('full_name', 'Maya Manager'), now(), now()
where not exists (select 1 from auth.users where email = 'manager@demo.salespulse.test');
insert into auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
select '00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated', 'authenticated', 'rep@demo.salespulse.test', extensions.crypt('salespulse-demo', extensions.gen_salt('bf', 10)), now(), '{"provider":"email","providers":["email"]}', jsonb_build_object('full_name', 'Rico Rep'), now(), now()
where not exists (select 1 from auth.users where email = 'rep@demo.salespulse.test');
insert into auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
select '00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated', 'authenticated', 'rep2@demo.salespulse.test', extensions.crypt('salespulse-demo', extensions.gen_salt('bf', 10)), now(), '{"provider":"email","providers":["email"]}', jsonb_build_object('full_name', 'Rhea Rep'), now(), now()
where not exists (select 1 from auth.users where email = 'rep2@demo.salespulse.test');
insert into auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
select '00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated', 'authenticated', 'staff@salespulse.test', extensions.crypt('salespulse-demo', extensions.gen_salt('bf', 10)), now(), '{"provider":"email","providers":["email"]}', jsonb_build_object('full_name', 'Sam Staff'), now(), now()
where not exists (select 1 from auth.users where email = 'staff@salespulse.test');
insert into public.memberships (org_id, user_id, role, team_id) values ((select id from public.organizations where slug = 'demo-realty'), (select id from auth.users where email = 'admin@demo.salespulse.test'), 'enterprise_admin', null)
on conflict do nothing;
insert into public.memberships (org_id, user_id, role, team_id) values ((select id from public.organizations where slug = 'demo-realty'), (select id from auth.users where email = 'etm@demo.salespulse.test'), 'enterprise_tm', null)
on conflict do nothing;
insert into public.team_managers (team_id, user_id, org_id) values ((select id from public.teams where org_id = (select id from public.organizations where slug = 'demo-realty') and name = 'East'), (select id from auth.users where email = 'etm@demo.salespulse.test'), (select id from public.organizations where slug = 'demo-realty'))
on conflict do nothing;
insert into public.team_managers (team_id, user_id, org_id) values ((select id from public.teams where org_id = (select id from public.organizations where slug = 'demo-realty') and name = 'West'), (select id from auth.users where email = 'etm@demo.salespulse.test'), (select id from public.organizations where slug = 'demo-realty'))
on conflict do nothing;
insert into public.team_managers (team_id, user_id, org_id) values ((select id from public.teams where org_id = (select id from public.organizations where slug = 'demo-realty') and name = 'Commercial'), (select id from auth.users where email = 'etm@demo.salespulse.test'), (select id from public.organizations where slug = 'demo-realty'))
on conflict do nothing;
insert into public.memberships (org_id, user_id, role, team_id) values ((select id from public.organizations where slug = 'demo-realty'), (select id from auth.users where email = 'manager@demo.salespulse.test'), 'team_manager', (select id from public.teams where org_id = (select id from public.organizations where slug = 'demo-realty') and name = 'East'))
on conflict do nothing;
insert into public.team_managers (team_id, user_id, org_id) values ((select id from public.teams where org_id = (select id from public.organizations where slug = 'demo-realty') and name = 'East'), (select id from auth.users where email = 'manager@demo.salespulse.test'), (select id from public.organizations where slug = 'demo-realty'))
on conflict do nothing;
insert into public.memberships (org_id, user_id, role, team_id) values ((select id from public.organizations where slug = 'demo-realty'), (select id from auth.users where email = 'rep@demo.salespulse.test'), 'rep', (select id from public.teams where org_id = (select id from public.organizations where slug = 'demo-realty') and name = 'East'))
on conflict do nothing;
insert into public.memberships (org_id, user_id, role, team_id) values ((select id from public.organizations where slug = 'demo-realty'), (select id from auth.users where email = 'rep2@demo.salespulse.test'), 'rep', (select id from public.teams where org_id = (select id from public.organizations where slug = 'demo-realty') and name = 'West'))
on conflict do nothing;
insert into public.platform_admins (user_id, note) values ((select id from auth.users where email = 'staff@salespulse.test'), 'demo')
on conflict do nothing;
