-- Billing state mirrored from Stripe: customers, subscriptions and their add-ons, the ledger of
-- processed webhook events, and payments held for delayed capture. Only the service role
-- (the Stripe webhook, the billing functions, cron) writes these tables.

-- ## Helper
create or replace function private.billing_org_ids() returns setof uuid
language sql stable security definer set search_path = ''
as $$
  select m.org_id from public.memberships m
   where m.user_id = (select auth.uid()) and m.role = 'enterprise_admin'
  union
  select m.org_id from public.memberships m
    join public.organizations o on o.id = m.org_id and o.kind = 'individual'
   where m.user_id = (select auth.uid())
$$;
comment on function private.billing_org_ids() is
  'The organization whose billing the caller manages (enterprise admin, or owner of an individual account), suspended or not.';
grant execute on function private.billing_org_ids() to authenticated, service_role;

-- ## Stripe customers
create table public.stripe_customers (
  org_id uuid primary key references public.organizations (id) on delete cascade,
  stripe_customer_id text not null unique check (stripe_customer_id ~ '^cus_'),
  email text,
  created_at timestamptz not null default now()
);
comment on table public.stripe_customers is 'The Stripe customer of each organization, created once and reused.';
comment on column public.stripe_customers.org_id is 'The organization.';
comment on column public.stripe_customers.stripe_customer_id is 'Stripe''s customer id (cus_…).';
comment on column public.stripe_customers.email is 'Billing e-mail given to Stripe.';
comment on column public.stripe_customers.created_at is 'When it was created.';
alter table public.stripe_customers enable row level security;

create policy "billing admins read their organization's customer" on public.stripe_customers
  for select to authenticated
  using (org_id in (select private.billing_org_ids()) or (select private.is_platform_admin()));

-- ## Subscriptions
create table public.subscriptions (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null unique references public.organizations (id) on delete cascade,
  plan_key text not null references public.plans (key) on update cascade,
  status text not null check (status in ('incomplete', 'incomplete_expired', 'trialing', 'active',
                                          'past_due', 'canceled', 'unpaid', 'paused')),
  stripe_subscription_id text unique check (stripe_subscription_id ~ '^sub_'),
  seats integer not null default 1 check (seats > 0),
  current_period_end timestamptz,
  cancel_at_period_end boolean not null default false,
  grace_until timestamptz,
  stripe_state_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.subscriptions is 'Each organization''s subscription as Stripe last reported it.';
comment on column public.subscriptions.id is 'Identifier.';
comment on column public.subscriptions.org_id is 'The organization (one subscription each).';
comment on column public.subscriptions.plan_key is 'The plan subscribed to.';
comment on column public.subscriptions.status is 'Stripe''s subscription status.';
comment on column public.subscriptions.stripe_subscription_id is 'Stripe''s subscription id (sub_…).';
comment on column public.subscriptions.seats is 'Seats paid for (the line item''s quantity).';
comment on column public.subscriptions.current_period_end is 'End of the paid period.';
comment on column public.subscriptions.cancel_at_period_end is 'Whether it ends with the period.';
comment on column public.subscriptions.grace_until is 'After a failed payment: access continues until then.';
comment on column public.subscriptions.stripe_state_at is 'Time of the Stripe event this state came from; an older event never overwrites it.';
comment on column public.subscriptions.created_at is 'When the row was created.';
comment on column public.subscriptions.updated_at is 'When the row last changed.';
alter table public.subscriptions enable row level security;
create trigger subscriptions_touch_updated_at before update on public.subscriptions
  for each row execute function private.touch_updated_at();

-- Out-of-order delivery: a state older than the one stored is ignored, whoever writes it.
create or replace function private.ignore_older_stripe_state() returns trigger
language plpgsql set search_path = ''
as $$
begin
  if old.stripe_state_at is not null and new.stripe_state_at < old.stripe_state_at then
    return null;
  end if;
  return new;
end
$$;
comment on function private.ignore_older_stripe_state() is
  'Trigger: skips an update whose Stripe state is older than the stored one.';
create trigger subscriptions_ignore_older_stripe_state before update on public.subscriptions
  for each row execute function private.ignore_older_stripe_state();

create policy "members read their organization's billing status, even suspended" on public.subscriptions
  for select to authenticated
  using (org_id = (select private.my_org_id()) or (select private.is_platform_admin()));

-- ## Subscription add-ons
create table public.subscription_add_ons (
  subscription_id uuid not null references public.subscriptions (id) on delete cascade,
  add_on_key text not null references public.add_ons (key) on update cascade,
  quantity integer not null default 1 check (quantity > 0),
  created_at timestamptz not null default now(),
  primary key (subscription_id, add_on_key)
);
comment on table public.subscription_add_ons is 'Add-ons paid for within a subscription.';
comment on column public.subscription_add_ons.subscription_id is 'The subscription.';
comment on column public.subscription_add_ons.add_on_key is 'The add-on.';
comment on column public.subscription_add_ons.quantity is 'How many (e.g. Voice AI SIMs).';
comment on column public.subscription_add_ons.created_at is 'When it was added.';
alter table public.subscription_add_ons enable row level security;

create policy "members read their organization's add-ons" on public.subscription_add_ons
  for select to authenticated
  using (exists (select 1 from public.subscriptions s where s.id = subscription_id));

-- ## Processed webhook events
create table public.stripe_webhook_events (
  event_id text primary key check (event_id ~ '^evt_'),
  type text not null,
  stripe_created_at timestamptz not null,
  processed_at timestamptz not null default now(),
  payload jsonb
);
comment on table public.stripe_webhook_events is
  'Ledger of Stripe events already applied; written in the same transaction as the effect, so a retry is a no-op.';
comment on column public.stripe_webhook_events.event_id is 'Stripe''s event id (evt_…), unique.';
comment on column public.stripe_webhook_events.type is 'Event type, e.g. invoice.paid.';
comment on column public.stripe_webhook_events.stripe_created_at is 'When Stripe created the event (orders out-of-order deliveries).';
comment on column public.stripe_webhook_events.processed_at is 'When it was applied.';
comment on column public.stripe_webhook_events.payload is 'The event as received, for support.';
alter table public.stripe_webhook_events enable row level security;
create index stripe_webhook_events_processed_at_idx on public.stripe_webhook_events (processed_at);

create policy "platform admins read the webhook ledger" on public.stripe_webhook_events
  for select to authenticated using ((select private.is_platform_admin()));

-- ## Payment holds (delayed capture)
create table public.payment_holds (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references public.organizations (id) on delete cascade,
  stripe_payment_intent_id text not null unique check (stripe_payment_intent_id ~ '^pi_'),
  stripe_checkout_session_id text unique,
  description text not null default '',
  amount_cents bigint not null check (amount_cents > 0),
  currency text not null default 'usd' check (currency ~ '^[a-z]{3}$'),
  status text not null default 'requires_capture'
    check (status in ('requires_capture', 'captured', 'canceled', 'expired')),
  capture_before timestamptz not null,
  warned_at timestamptz,
  captured_at timestamptz,
  canceled_at timestamptz,
  created_by uuid references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint captured_holds_are_dated check ((status = 'captured') = (captured_at is not null))
);
comment on table public.payment_holds is 'Card payments authorised but not captured yet (pilot purchases), with their capture deadline.';
comment on column public.payment_holds.id is 'Identifier.';
comment on column public.payment_holds.org_id is 'The paying organization.';
comment on column public.payment_holds.stripe_payment_intent_id is 'Stripe''s payment intent (pi_…).';
comment on column public.payment_holds.stripe_checkout_session_id is 'The checkout session that created it, if any.';
comment on column public.payment_holds.description is 'What is being bought.';
comment on column public.payment_holds.amount_cents is 'Amount held, in the currency''s minor unit.';
comment on column public.payment_holds.currency is 'ISO 4217 code, lower case.';
comment on column public.payment_holds.status is 'requires_capture, captured, canceled or expired.';
comment on column public.payment_holds.capture_before is 'Deadline after which the authorisation lapses.';
comment on column public.payment_holds.warned_at is 'When admins were warned of the coming deadline.';
comment on column public.payment_holds.captured_at is 'When it was captured.';
comment on column public.payment_holds.canceled_at is 'When it was cancelled or expired.';
comment on column public.payment_holds.created_by is 'Who started the purchase.';
comment on column public.payment_holds.created_at is 'When the row was created.';
comment on column public.payment_holds.updated_at is 'When the row last changed.';
alter table public.payment_holds enable row level security;
create index payment_holds_org_id_idx on public.payment_holds (org_id);
create index payment_holds_open_by_deadline_idx on public.payment_holds (capture_before)
  where status = 'requires_capture';
create trigger payment_holds_touch_updated_at before update on public.payment_holds
  for each row execute function private.touch_updated_at();

create policy "billing admins read their organization's payment holds" on public.payment_holds
  for select to authenticated
  using (org_id in (select private.billing_org_ids()) or (select private.is_platform_admin()));
