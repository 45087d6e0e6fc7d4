-- What-if scenarios (a sandbox copy of a plan's inputs; never touches real goals) and referral
-- rules (how referrals add deals or raise their value). Both belong to one member.

-- ## Scenarios
create table public.scenarios (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  org_id uuid not null references public.organizations (id) on delete cascade,
  goal_id uuid references public.goals (id) on delete set null,
  name text not null check (length(btrim(name)) between 1 and 200),
  inputs jsonb not null check (jsonb_typeof(inputs) = 'object'),
  result jsonb check (jsonb_typeof(result) = 'object'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.scenarios is 'Saved what-if scenarios: changed copies of a goal''s inputs and their result. Sandbox only.';
comment on column public.scenarios.id is 'Identifier.';
comment on column public.scenarios.user_id is 'Whose scenario (the caller by default).';
comment on column public.scenarios.org_id is 'The owner''s organization, set by the database.';
comment on column public.scenarios.goal_id is 'The real goal it was compared with, if any (never written).';
comment on column public.scenarios.name is 'Name given by the member.';
comment on column public.scenarios.inputs is 'The changed inputs (target, SIM, ratios, calendar, referral rules) as JSON.';
comment on column public.scenarios.result is 'The engine''s result and its difference from the real plan, as JSON.';
comment on column public.scenarios.created_at is 'When it was saved.';
comment on column public.scenarios.updated_at is 'When it last changed.';
alter table public.scenarios enable row level security;
create index scenarios_user_id_idx on public.scenarios (user_id);
create index scenarios_org_id_idx on public.scenarios (org_id);
create index scenarios_goal_id_idx on public.scenarios (goal_id);
create trigger scenarios_set_member_org before insert or update on public.scenarios
  for each row execute function private.set_member_org();
create trigger scenarios_touch_updated_at before update on public.scenarios
  for each row execute function private.touch_updated_at();

create policy "members read their own scenarios" on public.scenarios
  for select to authenticated
  using (user_id = (select auth.uid()) and org_id in (select private.active_org_ids()));
create policy "members save their own scenarios" on public.scenarios
  for insert to authenticated
  with check (user_id = (select auth.uid()) and org_id in (select private.active_org_ids()));
create policy "members edit their own scenarios" on public.scenarios
  for update to authenticated
  using (user_id = (select auth.uid()) and org_id in (select private.active_org_ids()))
  with check (user_id = (select auth.uid()) and org_id in (select private.active_org_ids()));
create policy "members delete their own scenarios" on public.scenarios
  for delete to authenticated
  using (user_id = (select auth.uid()) and org_id in (select private.active_org_ids()));
select private.add_write_guards('public.scenarios');

-- ## Referral rules
create table public.referral_rules (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  org_id uuid not null references public.organizations (id) on delete cascade,
  name text not null check (length(btrim(name)) between 1 and 200),
  referral_close_rate numeric(6, 5) check (referral_close_rate > 0 and referral_close_rate <= 1),
  referred_value_multiplier numeric(6, 3) check (referred_value_multiplier > 0 and referred_value_multiplier <= 100),
  active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint a_rule_does_something check (referral_close_rate is not null or referred_value_multiplier is not null)
);
comment on table public.referral_rules is 'How referrals help a member: extra deals (close rate) and/or more valuable deals (multiplier).';
comment on column public.referral_rules.id is 'Identifier.';
comment on column public.referral_rules.user_id is 'Whose rule (the caller by default).';
comment on column public.referral_rules.org_id is 'The owner''s organization, set by the database.';
comment on column public.referral_rules.name is 'Name given by the member.';
comment on column public.referral_rules.referral_close_rate is 'Share of referrals that become deals, in (0, 1].';
comment on column public.referral_rules.referred_value_multiplier is 'Value of a referred deal relative to a cold one (e.g. 1.25).';
comment on column public.referral_rules.active is 'Whether the engine applies it.';
comment on column public.referral_rules.created_at is 'When the row was created.';
comment on column public.referral_rules.updated_at is 'When the row last changed.';
alter table public.referral_rules enable row level security;
create index referral_rules_user_id_idx on public.referral_rules (user_id);
create index referral_rules_org_id_idx on public.referral_rules (org_id);
create trigger referral_rules_set_member_org before insert or update on public.referral_rules
  for each row execute function private.set_member_org();
create trigger referral_rules_touch_updated_at before update on public.referral_rules
  for each row execute function private.touch_updated_at();

create policy "members read their rules and those of members they manage" on public.referral_rules
  for select to authenticated
  using (
    org_id in (select private.active_org_ids())
    and (user_id = (select auth.uid()) or user_id in (select private.managed_user_ids()))
  );
create policy "members add their own rules" on public.referral_rules
  for insert to authenticated
  with check (user_id = (select auth.uid()) and org_id in (select private.active_org_ids()));
create policy "members edit their own rules" on public.referral_rules
  for update to authenticated
  using (user_id = (select auth.uid()) and org_id in (select private.active_org_ids()))
  with check (user_id = (select auth.uid()) and org_id in (select private.active_org_ids()));
create policy "members delete their own rules" on public.referral_rules
  for delete to authenticated
  using (user_id = (select auth.uid()) and org_id in (select private.active_org_ids()));
select private.add_write_guards('public.referral_rules');
