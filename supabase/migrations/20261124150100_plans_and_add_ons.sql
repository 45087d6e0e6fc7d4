-- The catalogue of plans and add-ons. Rows come from data/plans.yml (the seed loader and the
-- Stripe sync script write them); the API only reads them.

-- ## Plans
create table public.plans (
  key text primary key check (key ~ '^[a-z][a-z0-9_]*$'),
  name text not null check (length(name) between 1 and 100),
  description text not null default '',
  price_cents integer not null check (price_cents >= 0),
  currency text not null default 'usd' check (currency ~ '^[a-z]{3}$'),
  billing_interval text not null check (billing_interval in ('month', 'year')),
  max_users integer not null check (max_users > 0),
  max_sims integer not null check (max_sims > 0),
  features text[] not null default '{}',
  active boolean not null default true,
  sort_order integer not null default 0,
  stripe_product_id text unique,
  stripe_price_id text unique,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.plans is 'Subscription plans, synced from data/plans.yml. Read-only through the API.';
comment on column public.plans.key is 'Stable identifier, also the Stripe lookup_key.';
comment on column public.plans.name is 'Name shown to customers.';
comment on column public.plans.description is 'One-line pitch shown on the pricing page.';
comment on column public.plans.price_cents is 'Price per seat and interval, in the currency''s minor unit.';
comment on column public.plans.currency is 'ISO 4217 code, lower case as Stripe writes it.';
comment on column public.plans.billing_interval is 'month or year.';
comment on column public.plans.max_users is 'Most members an organization on this plan may have.';
comment on column public.plans.max_sims is 'Most SIMs an organization on this plan may own.';
comment on column public.plans.features is 'Feature-flag keys this plan turns on by default.';
comment on column public.plans.active is 'False when removed from data/plans.yml: kept for existing subscriptions.';
comment on column public.plans.sort_order is 'Position on the pricing page.';
comment on column public.plans.stripe_product_id is 'Stripe product id, written by the plan sync.';
comment on column public.plans.stripe_price_id is 'Stripe price id, written by the plan sync.';
comment on column public.plans.created_at is 'When the row was created.';
comment on column public.plans.updated_at is 'When the row last changed.';
alter table public.plans enable row level security;
create trigger plans_touch_updated_at before update on public.plans
  for each row execute function private.touch_updated_at();

create policy "anyone reads the plans" on public.plans
  for select to anon, authenticated using (true);

-- ## Add-ons
create table public.add_ons (
  key text primary key check (key ~ '^[a-z][a-z0-9_]*$'),
  name text not null check (length(name) between 1 and 100),
  description text not null default '',
  price_cents integer not null check (price_cents >= 0),
  currency text not null default 'usd' check (currency ~ '^[a-z]{3}$'),
  billing_interval text not null check (billing_interval in ('month', 'year')),
  features text[] not null default '{}',
  sim_count integer check (sim_count > 0),
  active boolean not null default true,
  sort_order integer not null default 0,
  stripe_product_id text unique,
  stripe_price_id text unique,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.add_ons is 'Add-ons bought on top of a plan (e.g. Voice AI), synced from data/plans.yml.';
comment on column public.add_ons.key is 'Stable identifier, also the Stripe lookup_key.';
comment on column public.add_ons.name is 'Name shown to customers.';
comment on column public.add_ons.description is 'One-line pitch.';
comment on column public.add_ons.price_cents is 'Price per interval, in the currency''s minor unit.';
comment on column public.add_ons.currency is 'ISO 4217 code, lower case.';
comment on column public.add_ons.billing_interval is 'month or year.';
comment on column public.add_ons.features is 'Feature-flag keys the add-on turns on while paid.';
comment on column public.add_ons.sim_count is 'For per-SIM add-ons (Voice AI): how many SIMs it covers; null otherwise.';
comment on column public.add_ons.active is 'False when removed from data/plans.yml.';
comment on column public.add_ons.sort_order is 'Position on the pricing page.';
comment on column public.add_ons.stripe_product_id is 'Stripe product id, written by the plan sync.';
comment on column public.add_ons.stripe_price_id is 'Stripe price id, written by the plan sync.';
comment on column public.add_ons.created_at is 'When the row was created.';
comment on column public.add_ons.updated_at is 'When the row last changed.';
alter table public.add_ons enable row level security;
create trigger add_ons_touch_updated_at before update on public.add_ons
  for each row execute function private.touch_updated_at();

create policy "anyone reads the add-ons" on public.add_ons
  for select to anon, authenticated using (true);
