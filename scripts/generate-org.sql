-- The body of scripts/generate-org: a realistic enterprise organization with a year of activity,
-- set-based and deterministic (every "random" choice is a hash of the seed and what it decides).
-- Run it in one transaction (scripts/generate-org uses psql -1; a pgTAP test may \ir it inside
-- its own). psql variables, all optional:
--   slug   the organization's slug, also the users' e-mail domain (<slug>.test)   generated-org
--   users  members in all                                                        500
--   teams  teams                                                                 users / 20
--   seed   any text; the same seed, size and today give the same organization    1
--   today  the last day of activity                                              current_date
-- Layout: one enterprise admin, one enterprise TM per division (managing its teams), one team
-- manager per team, the rest reps spread unevenly over the teams. Reps only log activity and
-- have goals: one per calendar year the activity touches, on the team's SIM.

\if :{?slug} \else \set slug generated-org \endif
\if :{?users} \else \set users 500 \endif
\if :{?teams} \else \set teams '' \endif
\if :{?seed} \else \set seed 1 \endif
\if :{?today} \else \set today '' \endif

-- Compiling these one-off queries would cost more than running them.
set local jit = off;
-- The working tables of an earlier run in this transaction (a test may generate twice).
set local client_min_messages = warning;
drop table if exists pg_temp.gen_settings, pg_temp.gen_teams, pg_temp.gen_members, pg_temp.gen_reps,
  pg_temp.gen_days, pg_temp.gen_activity;

-- A uniform draw in [0, 1) decided by `key` (48 bits of its MD5): the same key, the same draw.
create or replace function pg_temp.draw(key text) returns double precision
language sql immutable parallel safe
as $$ select ('x' || left(md5(key), 12))::bit(48)::bigint / 281474976710656.0 $$;

create temporary table gen_settings as
select :'slug'::text as slug,
       :'seed'::text as seed,
       :'users'::integer as users,
       coalesce(nullif(:'teams', '')::integer, greatest(1, :'users'::integer / 20)) as teams,
       coalesce(nullif(:'today', '')::date, current_date) as today;

do $$
declare
  s gen_settings;
begin
  select * into s from gen_settings;
  if s.teams not between 1 and 25 then
    raise exception 'teams must be between 1 and 25 (got %)', s.teams;
  end if;
  -- admin + at most one enterprise TM per team + a manager and at least two reps per team
  if s.users < 1 + s.teams * 4 then
    raise exception '% users are too few for % teams: at least %', s.users, s.teams, 1 + s.teams * 4;
  end if;
  if exists (select 1 from public.organizations where slug = s.slug) then
    raise exception 'an organization with slug % exists already: choose another slug or database', s.slug;
  end if;
end
$$;

-- ## The organization, its own SIM, its teams
insert into public.organizations (id, name, slug, kind, plan_key, time_zone)
select md5(seed || '/org/' || slug)::uuid, 'Generated Enterprise (' || slug || ')', slug,
       'enterprise', 'enterprise', 'America/New_York'
  from gen_settings;

-- An enterprise funnel with a custom stage; some teams sell on the global insurance SIM instead
-- (a funnel without one).
insert into public.sims (id, org_id, key, name, industry, description, average_deal_value_cents,
                         commission_rate, created_by)
select md5(seed || '/sim/' || slug)::uuid, md5(seed || '/org/' || slug)::uuid, 'field-sales',
       'Field sales (generated)', 'B2B services', 'Calls -> meetings -> proposals -> signed deals.',
       1800000, 0.08, null
  from gen_settings;
insert into public.sim_stages (sim_id, position, key, name, activity_type, conversion_rate)
select md5(seed || '/sim/' || slug)::uuid, stage.position, stage.key, stage.name,
       stage.activity_type::public.activity_type, stage.conversion_rate
  from gen_settings,
       (values (1, 'call', 'Outbound call', 'call', 0.08),
               (2, 'appointment', 'First meeting', 'appointment', 0.45),
               (3, 'proposal', 'Proposal sent', 'custom', 0.35),
               (4, 'deal', 'Signed deal', 'deal', null)) stage(position, key, name, activity_type, conversion_rate);

create temporary table gen_teams as
select t.n, md5(s.seed || '/team/' || s.slug || '/' || t.n)::uuid as id,
       city.name as city, city.division, city.time_zone,
       -- every third team sells insurance
       case when t.n % 3 = 0
            then (select id from public.sims where org_id is null and key = 'insurance')
            else md5(s.seed || '/sim/' || s.slug)::uuid end as sim_id,
       -- uneven team sizes: a weight in [0.6, 1.4)
       0.6 + 0.8 * pg_temp.draw(s.seed || '/team-size/' || t.n) as weight
  from gen_settings s
  cross join generate_series(1, s.teams) t(n)
  join (values
    (1, 'Boston', 'East', 'America/New_York'), (2, 'Chicago', 'Central', 'America/Chicago'),
    (3, 'Denver', 'West', 'America/Denver'), (4, 'New York', 'East', 'America/New_York'),
    (5, 'Dallas', 'Central', 'America/Chicago'), (6, 'Los Angeles', 'West', 'America/Los_Angeles'),
    (7, 'Atlanta', 'East', 'America/New_York'), (8, 'Houston', 'Central', 'America/Chicago'),
    (9, 'Seattle', 'West', 'America/Los_Angeles'), (10, 'London', 'International', 'Europe/London'),
    (11, 'Miami', 'East', 'America/New_York'), (12, 'Minneapolis', 'Central', 'America/Chicago'),
    (13, 'Phoenix', 'West', 'America/Phoenix'), (14, 'Toronto', 'International', 'America/Toronto'),
    (15, 'Philadelphia', 'East', 'America/New_York'), (16, 'Austin', 'Central', 'America/Chicago'),
    (17, 'San Francisco', 'West', 'America/Los_Angeles'), (18, 'Dublin', 'International', 'Europe/Dublin'),
    (19, 'Charlotte', 'East', 'America/New_York'), (20, 'Nashville', 'Central', 'America/Chicago'),
    (21, 'Portland', 'West', 'America/Los_Angeles'), (22, 'Berlin', 'International', 'Europe/Berlin'),
    (23, 'Washington', 'East', 'America/New_York'), (24, 'St. Louis', 'Central', 'America/Chicago'),
    (25, 'San Diego', 'West', 'America/Los_Angeles')) city(n, name, division, time_zone)
    on city.n = t.n;

insert into public.teams (id, org_id, name, division)
select t.id, md5(s.seed || '/org/' || s.slug)::uuid, t.city, t.division
  from gen_teams t, gen_settings s;

-- ## The people
-- Member n: 1 the enterprise admin, then one enterprise TM per division, one manager per team,
-- then the reps, each rep placed by where (n - 0.5) / reps falls among the teams' weights.
create temporary table gen_members as
with divisions as (
  select division, row_number() over (order by min(n)) as k from gen_teams group by division
),
layout as (
  select s.*, (select count(*) from divisions)::integer as etms from gen_settings s
),
team_shares as (
  select t.*, sum(weight) over (order by n) / sum(weight) over () as upto,
              (sum(weight) over (order by n) - weight) / sum(weight) over () as from_share
    from gen_teams t
),
members as (
  select l.*, m.n,
         case when m.n = 1 then 'enterprise_admin'
              when m.n <= 1 + l.etms then 'enterprise_tm'
              when m.n <= 1 + l.etms + l.teams then 'team_manager'
              else 'rep' end::public.org_role as role,
         m.n - 1 - l.etms - l.teams as rep_n,
         l.users - 1 - l.etms - l.teams as reps
    from layout l cross join generate_series(1, l.users) m(n)
),
-- Reps in a seeded shuffle: where a rep falls in it decides how they perform, so that every size
-- gets the same mix.
shuffled as (
  select m.*, (row_number() over (partition by m.role order by pg_temp.draw(m.seed || '/kind/' || m.n)) - 0.5)
                / m.reps as place
    from members m
)
select m.n, m.role, md5(m.seed || '/user/' || m.slug || '/' || m.n)::uuid as id,
       case m.role when 'enterprise_admin' then 'admin'
                   when 'enterprise_tm' then 'etm' || (m.n - 1)
                   when 'team_manager' then 'manager' || lpad((m.n - 1 - m.etms)::text, 2, '0')
                   else 'rep' || lpad(m.rep_n::text, 3, '0') end || '@' || m.slug || '.test' as email,
       (array['Ada', 'Ben', 'Carla', 'Dev', 'Elena', 'Farid', 'Grace', 'Hugo', 'Ines', 'Jamal',
              'Kira', 'Leo', 'Maya', 'Nils', 'Olga', 'Pablo', 'Quinn', 'Rosa', 'Sam', 'Tara',
              'Umar', 'Vera', 'Wes', 'Xena', 'Yusuf', 'Zoe'])[1 + floor(26 * pg_temp.draw(m.seed || '/first/' || m.n))::int]
         || ' ' ||
       (array['Adler', 'Brooks', 'Castillo', 'Dubois', 'Eriksen', 'Fischer', 'Garcia', 'Haddad',
              'Ito', 'Jensen', 'Kowalski', 'Lopez', 'Moreau', 'Nakamura', 'Okafor', 'Patel',
              'Quintero', 'Rossi', 'Schmidt', 'Tanaka', 'Usman', 'Varga', 'Walsh', 'Xu',
              'Yilmaz', 'Zimmermann'])[1 + floor(26 * pg_temp.draw(m.seed || '/last/' || m.n))::int] as full_name,
       case when m.role = 'team_manager' then (select id from gen_teams where n = m.n - 1 - m.etms)
            when m.role = 'rep' then (select ts.id from team_shares ts
                                       where (m.rep_n - 0.5) / m.reps >= ts.from_share
                                         and (m.rep_n - 0.5) / m.reps < ts.upto)
       end as team_id,
       case when m.role = 'enterprise_tm' then (select d.division from divisions d where d.k = m.n - 1) end
         as division,
       -- how a rep performs: ahead (15 %), on pace (45 %), behind (22 %), with a bottleneck
       -- (12 %: one stage converts at a quarter to two fifths of the SIM's rate), inactive (6 %:
       -- like on pace, but nothing logged for the last 4 to 15 working days)
       case when m.role = 'rep' then
         case when m.place < 0.15 then 'ahead' when m.place < 0.60 then 'on_pace'
              when m.place < 0.82 then 'behind' when m.place < 0.94 then 'bottleneck'
              else 'inactive' end
       end as kind
  from shuffled m;

-- One password for every generated user, hashed once (bcrypt as Supabase Auth stores it).
insert into auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
                        raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
with pw as materialized (select extensions.crypt('salespulse-generated', extensions.gen_salt('bf', 10)) as hash)
select '00000000-0000-0000-0000-000000000000', m.id, 'authenticated', 'authenticated', m.email,
       pw.hash, s.today - 400,
       -- generated_as: the member's role, and for a rep how they perform (scripts pick by it)
       jsonb_build_object('provider', 'email', 'providers', '["email"]'::jsonb,
                          'generated_as', coalesce(m.kind, m.role::text)),
       jsonb_build_object('full_name', m.full_name), s.today - 400, s.today - 400
  from gen_members m, gen_settings s, pw;

-- Profiles come from the auth.users trigger; each member works in their team's time zone
-- (managers of the whole org in the organization's).
update public.profiles p
   set time_zone = coalesce(t.time_zone, 'America/New_York')
  from gen_members m left join gen_teams t on t.id = m.team_id
 where p.id = m.id;

insert into public.memberships (org_id, user_id, role, team_id, created_at)
select md5(s.seed || '/org/' || s.slug)::uuid, m.id, m.role, m.team_id, s.today - 400
  from gen_members m, gen_settings s
 order by m.n;

insert into public.team_managers (team_id, user_id, org_id)
select t.id, m.id, md5(s.seed || '/org/' || s.slug)::uuid
  from gen_members m
  join gen_teams t on t.id = m.team_id or t.division = m.division
  cross join gen_settings s
 where m.role in ('team_manager', 'enterprise_tm');

-- ## How each rep performs
-- effort scales the first stage against the plan; skill (below) scales a stage's conversion to
-- the next.
create temporary table gen_reps as
select m.n, m.id, m.team_id, t.sim_id, t.time_zone, m.kind,
       case m.kind when 'ahead' then 1.25 + 0.20 * pg_temp.draw(s.seed || '/effort/' || m.n)
                   when 'behind' then 0.55 + 0.25 * pg_temp.draw(s.seed || '/effort/' || m.n)
                   else 0.97 + 0.10 * pg_temp.draw(s.seed || '/effort/' || m.n) end as effort,
       -- the stage (1 or 2) a bottlenecked rep loses deals at
       1 + floor(2 * pg_temp.draw(s.seed || '/bottleneck/' || m.n))::int as weak_stage,
       4 + floor(12 * pg_temp.draw(s.seed || '/idle/' || m.n))::int as idle_days,
       -- deals a year the goal asks for, around the SIM's usual
       case when t.sim_id = md5(s.seed || '/sim/' || s.slug)::uuid then 40 else 150 end
         * (0.8 + 0.4 * pg_temp.draw(s.seed || '/target/' || m.n)) as deals_a_year,
       -- a week off somewhere in the first nine months of the window
       floor(39 * pg_temp.draw(s.seed || '/vacation/' || m.n))::int as vacation_week
  from gen_members m join gen_teams t on t.id = m.team_id cross join gen_settings s
 where m.role = 'rep';

-- ## Goals: one per rep and calendar year of the window
insert into public.goals (id, user_id, org_id, sim_id, income_target_cents, period_kind,
                          period_start, time_zone, created_at)
select md5(s.seed || '/goal/' || r.id || '/' || y.start)::uuid, r.id,
       md5(s.seed || '/org/' || s.slug)::uuid, r.sim_id,
       round(r.deals_a_year * sim.income_per_deal_cents / 100) * 100, 'year', y.start,
       r.time_zone, y.start - 20
  from gen_reps r
  join public.sims sim on sim.id = r.sim_id
  cross join gen_settings s
  cross join lateral (select distinct date_trunc('year', d)::date as start
                        from (values (s.today - 364), (s.today)) w(d)) y;

-- ## A year of activity
-- The days of the window with, for each, how many working days lie after it and before today
-- (what the inactivity alert counts).
create temporary table gen_days as
with days as (
  select d::date as day, extract(isodow from d) < 6 as working
    from gen_settings s, generate_series(s.today - 364, s.today, interval '1 day') d
)
select day, working,
       coalesce(sum(working::int) over (order by day desc rows between unbounded preceding and 1 preceding), 0)
         - (select working::int from days where day = (select today from gen_settings)) as idle_after
  from days;

-- Per rep, working day and stage: the expected count (the plan's daily need, scaled by effort,
-- the conversions the rep actually achieves, the season and the day's form), rounded up or down
-- at random so that sums stay unbiased; referrals now and then besides the funnel.
create temporary table gen_activity as
with plan as materialized (
  -- per stage, how many of it the rep is expected to log a working day: deals a year over the
  -- working days, divided back up the funnel by the SIM's conversions, then what the rep achieves
  select r.id as user_id, r.n, r.kind, r.idle_days, r.vacation_week, st.position, st.key,
         st.activity_type, sim.average_deal_value_cents,
         r.deals_a_year / 261.0
           / exp(coalesce((select sum(ln(up.conversion_rate)) from public.sim_stages up
                            where up.sim_id = st.sim_id and up.position >= st.position
                              and up.conversion_rate is not null), 0))
           * r.effort
           * exp(coalesce((select sum(ln(case when r.kind = 'bottleneck' and up.position = r.weak_stage
                                              then 0.25 + 0.15 * pg_temp.draw(s.seed || '/weakness/' || r.n)
                                              else 0.95 + 0.1 * pg_temp.draw(s.seed || '/skill/' || r.n || '/' || up.position)
                                         end))
                            from public.sim_stages up
                           where up.sim_id = st.sim_id and up.position < st.position), 0)) as per_day
    from gen_reps r
    join public.sims sim on sim.id = r.sim_id
    join public.sim_stages st on st.sim_id = r.sim_id
    cross join gen_settings s
  union all
  select r.id, r.n, r.kind, r.idle_days, r.vacation_week, 0, null, 'referral', null, 0.08
    from gen_reps r
),
expected as (
  select p.*, d.day,
         p.per_day
           * (array[0.9, 1.0, 1.05, 1.05, 1.05, 1.0, 0.9, 0.9, 1.05, 1.1, 1.0, 0.8])[extract(month from d.day)::int]
           * (0.6 + 0.8 * pg_temp.draw(s.seed || '/form/' || p.n || '/' || d.day)) as mean
    from plan p
    join gen_days d on d.working
    cross join gen_settings s
   where (p.kind <> 'inactive' or d.idle_after >= p.idle_days)
     and (d.day - (s.today - 364)) / 7 <> p.vacation_week
)
select e.user_id, e.activity_type::public.activity_type as type,
       case when e.activity_type = 'custom' then e.key end as stage_key, e.day as occurred_on,
       q.quantity,
       case when e.activity_type = 'deal'
            then round(q.quantity * e.average_deal_value_cents
                       * (0.75 + 0.5 * pg_temp.draw(s.seed || '/value/' || e.n || '/' || e.day)))::bigint
       end as value_cents
  from expected e
  cross join gen_settings s
  cross join lateral (select floor(e.mean + pg_temp.draw(s.seed || '/round/' || e.n || '/' || e.position || '/' || e.day))::int
                        as quantity) q
 where q.quantity > 0;

-- Logged through the table's triggers, so that kpi_daily is what logging makes it, except the
-- edit history's, which costs the most per row: it is written set-based afterwards as that trigger
-- would have (one insert entry per activity, by its owner). The trigger is off only for the length
-- of this transaction (the table stays locked until it commits). Each activity counts towards
-- the goal of its year.
alter table public.activities disable trigger activities_record_change;
insert into public.activities (id, user_id, org_id, goal_id, type, stage_key, occurred_on, quantity,
                               value_cents, created_at, updated_at)
select md5(s.seed || '/activity/' || a.user_id || '/' || a.occurred_on || '/' || a.type || '/' || coalesce(a.stage_key, ''))::uuid,
       a.user_id, md5(s.seed || '/org/' || s.slug)::uuid,
       md5(s.seed || '/goal/' || a.user_id || '/' || date_trunc('year', a.occurred_on)::date)::uuid,
       a.type, a.stage_key, a.occurred_on, a.quantity, a.value_cents,
       a.occurred_on + time '17:30', a.occurred_on + time '17:30'
  from gen_activity a, gen_settings s
 order by a.occurred_on, a.user_id;
alter table public.activities enable trigger activities_record_change;

insert into public.activity_history (activity_id, user_id, org_id, operation, changed_by,
                                     changed_by_role, changed_at, after)
select a.id, a.user_id, a.org_id, 'insert', a.user_id, 'authenticated', a.created_at, to_jsonb(a)
  from public.activities a, gen_settings s
 where a.org_id = md5(s.seed || '/org/' || s.slug)::uuid;
