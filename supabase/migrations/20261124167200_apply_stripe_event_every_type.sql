-- apply_stripe_event handles every event the billing flow relies on. The webhook never calls
-- Stripe back: each effect compares the event's object with what is stored, so that retries,
-- duplicates and any delivery order end in the same state.
--
--   checkout.session.completed      links the organization (client_reference_id, else
--                                   metadata.org_id) to the customer; a mode=payment session
--                                   authorised but not captured records the payment hold
--   customer.subscription.created   status, plan (the item whose price's lookup_key, or price id,
--   customer.subscription.updated   is a plan), seats (its quantity), add-ons (the other items),
--   customer.subscription.deleted   current period, cancel_at; the organization's plan follows
--                                   while the subscription is in force. deleted is final.
--   invoice.paid                    clears the grace period (past_due/unpaid/incomplete -> active);
--   invoice.payment_succeeded       Stripe sends both for a payment, either may come alone
--   invoice.payment_failed          past_due; the grace period starts at the first failure and
--                                   lasts plans.payment_grace_days
--   payment_intent.amount_capturable_updated   the hold is authorised: amount, and the capture
--                                   deadline Stripe applies to cards, created + 7 days
--   payment_intent.canceled         the hold is canceled (final)
--   payment_intent.succeeded        the hold is captured (final)
--
-- Order: two clocks (migration 20261124167110). A subscription event older than the last one
-- applied (stripe_object_at) is 'stale' and changes nothing; within the same second a created
-- never overwrites its own later state and a period never goes back. Its status applies only
-- if it is not older than the stored status (stripe_state_at, which invoices move too); an
-- invoice event older than the stored status is 'stale'. canceled is final.
-- An event whose organization is not known yet (Stripe often sends customer.subscription.created
-- before checkout.session.completed) is 'unmatched' and applied again, in Stripe's order, as soon
-- as an event links its customer.

-- ## Helpers
create or replace function private.stripe_time(seconds jsonb) returns timestamptz
language sql immutable set search_path = ''
as $$
  select case when jsonb_typeof(seconds) = 'number' and (seconds #>> '{}')::numeric between 0 and 32503680000
              then to_timestamp((seconds #>> '{}')::double precision) end
$$;
comment on function private.stripe_time(jsonb) is
  'A Stripe timestamp (unix seconds) as timestamptz; null when absent or not a plausible number.';

create or replace function private.stripe_org(object jsonb) returns uuid
language sql stable set search_path = ''
as $$
  select coalesce(
    (select o.id from public.organizations o
      where o.id = (select candidate::uuid
                      from unnest(array[object ->> 'client_reference_id', object -> 'metadata' ->> 'org_id']) candidate
                     where candidate ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                     limit 1)),
    (select c.org_id from public.stripe_customers c where c.stripe_customer_id = object ->> 'customer'))
$$;
comment on function private.stripe_org(jsonb) is
  'The organization a Stripe object belongs to: client_reference_id or metadata.org_id (set by '
  'billing-checkout), else the organization linked to its customer; null when unknown.';

create or replace function private.stripe_item_key(item jsonb) returns text
language sql stable set search_path = ''
as $$
  select coalesce(
    nullif(item -> 'price' ->> 'lookup_key', ''),
    (select p.key from public.plans p
      where p.stripe_price_id in (item -> 'price' ->> 'id', item -> 'plan' ->> 'id')),
    (select a.key from public.add_ons a
      where a.stripe_price_id in (item -> 'price' ->> 'id', item -> 'plan' ->> 'id')))
$$;
comment on function private.stripe_item_key(jsonb) is
  'The plan or add-on key of a subscription item: its price''s lookup_key (the key, as the plan '
  'sync sets it), else the plan or add-on whose stripe_price_id is the item''s price (or plan) id.';

create or replace function private.link_stripe_customer(org uuid, customer text) returns void
language sql set search_path = ''
as $$
  insert into public.stripe_customers (org_id, stripe_customer_id)
  select org, customer where customer ~ '^cus_'
  on conflict do nothing
$$;
comment on function private.link_stripe_customer(uuid, text) is
  'Records the organization''s Stripe customer unless either side is already linked.';

-- ## Subscriptions
create or replace function private.apply_stripe_subscription(
  object jsonb, event_type text, event_at timestamptz
) returns text
language plpgsql set search_path = ''
as $$
declare
  stripe_id text := object ->> 'id';
  new_status text := case when event_type = 'customer.subscription.deleted' then 'canceled'
                          else object ->> 'status' end;
  items jsonb := coalesce(object -> 'items' -> 'data', '[]');
  period_end timestamptz;
  org uuid;
  stored public.subscriptions;
  item_plan_key text;
  plan public.plans;
  item_seats integer;
begin
  if stripe_id !~ '^sub_' or new_status is null then
    raise exception 'a subscription needs an id (sub_…) and a status' using errcode = '22023';
  end if;
  org := coalesce((select s.org_id from public.subscriptions s where s.stripe_subscription_id = stripe_id),
                  private.stripe_org(object));
  if org is null then
    return 'unmatched';
  end if;
  perform 1 from public.organizations where id = org for update;  -- one billing writer per org

  select * into stored from public.subscriptions where org_id = org;
  if stored.stripe_subscription_id is distinct from stripe_id then
    -- Another subscription of this organization is stored: a new one replaces it only once the
    -- stored one is over, and a subscription that is already over never replaces anything.
    if stored.stripe_subscription_id is not null
       and (stored.status not in ('canceled', 'incomplete_expired')
            or new_status in ('canceled', 'incomplete_expired')) then
      return 'ignored';
    end if;
    stored.stripe_state_at := null;
    stored.stripe_object_at := null;
    stored.grace_until := null;
    stored.current_period_end := null;
  elsif stored.status = 'canceled' then
    return 'stale';  -- deleted is final
  end if;

  period_end := coalesce(private.stripe_time(object -> 'current_period_end'),
                         (select max(private.stripe_time(i -> 'current_period_end'))
                            from jsonb_array_elements(items) i));
  if event_at < stored.stripe_object_at
     or (event_type = 'customer.subscription.created' and event_at <= stored.stripe_object_at)
     or period_end < stored.current_period_end then
    return 'stale';
  end if;
  -- A newer invoice event decided the status already: keep it (and its grace), take the rest.
  if event_at < stored.stripe_state_at and new_status <> 'canceled' then
    new_status := stored.status;
  else
    stored.stripe_state_at := event_at;
  end if;

  select p.key, (i ->> 'quantity')::integer into item_plan_key, item_seats
    from jsonb_array_elements(items) i join public.plans p on p.key = private.stripe_item_key(i)
   limit 1;
  select p.* into plan from public.plans p
   where p.key = coalesce(item_plan_key, stored.plan_key,
                          (select o.plan_key from public.organizations o where o.id = org));

  insert into public.subscriptions as s
    (org_id, plan_key, status, stripe_subscription_id, seats, current_period_end, cancel_at,
     cancel_at_period_end, grace_until, stripe_state_at, stripe_object_at)
  values (org, plan.key, new_status, stripe_id, coalesce(item_seats, stored.seats, 1), period_end,
          private.stripe_time(object -> 'cancel_at'),
          coalesce((object ->> 'cancel_at_period_end')::boolean, false),
          case when new_status in ('past_due', 'unpaid')
               then coalesce(stored.grace_until, event_at + make_interval(days => plan.payment_grace_days)) end,
          stored.stripe_state_at, event_at)
  on conflict (org_id) do update
     set plan_key = excluded.plan_key, status = excluded.status,
         stripe_subscription_id = excluded.stripe_subscription_id, seats = excluded.seats,
         current_period_end = excluded.current_period_end, cancel_at = excluded.cancel_at,
         cancel_at_period_end = excluded.cancel_at_period_end, grace_until = excluded.grace_until,
         stripe_state_at = excluded.stripe_state_at, stripe_object_at = excluded.stripe_object_at
  returning s.* into stored;
  if stored.id is null then
    return 'stale';  -- private.ignore_older_stripe_state kept the newer state of the row
  end if;

  -- Add-ons are the items that are not the plan; each paid one turns its features on
  -- (private.flag_value) while the subscription is in force.
  delete from public.subscription_add_ons sa
   where sa.subscription_id = stored.id
     and sa.add_on_key not in (select private.stripe_item_key(i) from jsonb_array_elements(items) i
                                where private.stripe_item_key(i) is not null);
  insert into public.subscription_add_ons as sa (subscription_id, add_on_key, quantity)
  select stored.id, a.key, sum(coalesce((i ->> 'quantity')::integer, 1))
    from jsonb_array_elements(items) i join public.add_ons a on a.key = private.stripe_item_key(i)
   group by a.key
  on conflict (subscription_id, add_on_key) do update set quantity = excluded.quantity;

  if new_status in ('active', 'trialing', 'past_due') then
    update public.organizations o set plan_key = plan.key
     where o.id = org and o.plan_key is distinct from plan.key;
  end if;
  perform private.link_stripe_customer(org, object ->> 'customer');
  return 'applied';
end
$$;
comment on function private.apply_stripe_subscription(jsonb, text, timestamptz) is
  'customer.subscription.created/updated/deleted: the organization''s subscription row and add-ons '
  'as the event''s object states them, unless the stored state is newer (''stale''); a canceled '
  'subscription is final. Called by apply_stripe_event.';

-- ## Invoices
create or replace function private.apply_stripe_invoice(
  object jsonb, event_type text, event_at timestamptz
) returns text
language plpgsql set search_path = ''
as $$
declare
  stripe_id text := coalesce(object ->> 'subscription',
                             object #>> '{parent,subscription_details,subscription}');
  stored public.subscriptions;
begin
  if stripe_id is null then
    return 'ignored';  -- a one-off invoice: no subscription state to change
  end if;
  select * into stored from public.subscriptions where stripe_subscription_id = stripe_id;
  if not found then
    return 'unmatched';
  end if;
  perform 1 from public.organizations where id = stored.org_id for update;
  select * into stored from public.subscriptions where id = stored.id;
  if stored.status = 'canceled' then
    return 'stale';
  end if;
  if event_at < stored.stripe_state_at then
    -- A failure delivered late still dates the grace period back to it, unless a payment
    -- (invoice.paid) came in between and ended that episode.
    if event_type = 'invoice.payment_failed' and stored.status in ('past_due', 'unpaid')
       and not exists (select 1 from public.stripe_webhook_events e
                        where e.type in ('invoice.paid', 'invoice.payment_succeeded')
                          and e.stripe_created_at between event_at and stored.stripe_state_at
                          and coalesce(e.payload -> 'data' -> 'object' ->> 'subscription',
                                       e.payload #>> '{data,object,parent,subscription_details,subscription}')
                              = stripe_id) then
      update public.subscriptions s
         set grace_until = least(s.grace_until, event_at + make_interval(days => p.payment_grace_days))
        from public.plans p
       where s.id = stored.id and p.key = s.plan_key;
    end if;
    return 'stale';
  end if;

  if event_type in ('invoice.paid', 'invoice.payment_succeeded') then
    update public.subscriptions
       set status = case when status in ('past_due', 'unpaid', 'incomplete') then 'active' else status end,
           grace_until = null, stripe_state_at = event_at
     where id = stored.id;
  elsif stored.status in ('active', 'trialing', 'past_due', 'unpaid') then
    -- Stripe retries the payment; the grace period runs from the first failure.
    update public.subscriptions s
       set status = case when s.status = 'unpaid' then 'unpaid' else 'past_due' end,
           grace_until = coalesce(s.grace_until, event_at + make_interval(days => p.payment_grace_days)),
           stripe_state_at = event_at
      from public.plans p
     where s.id = stored.id and p.key = s.plan_key;
  else
    return 'ignored';  -- incomplete or expired: there is no paid access to keep
  end if;
  return 'applied';
end
$$;
comment on function private.apply_stripe_invoice(jsonb, text, timestamptz) is
  'invoice.paid or .payment_succeeded (grace cleared, the subscription active again) and invoice.payment_failed '
  '(past_due, grace from the first failure for plans.payment_grace_days). Called by apply_stripe_event.';

-- ## Payment holds (delayed capture)
create or replace function private.apply_stripe_payment_intent(
  object jsonb, event_type text, event_at timestamptz
) returns text
language plpgsql set search_path = ''
as $$
declare
  intent_id text := object ->> 'id';
  -- Card authorisations lapse 7 days after the payment intent is created.
  deadline timestamptz := coalesce(private.stripe_time(object -> 'created'), event_at) + interval '7 days';
  hold public.payment_holds;
  org uuid;
begin
  if intent_id !~ '^pi_' then
    raise exception 'a payment intent needs an id (pi_…)' using errcode = '22023';
  end if;
  select * into hold from public.payment_holds where stripe_payment_intent_id = intent_id for update;
  if not found then
    -- Only a manual-capture intent is a hold; an event may come before the one announcing it.
    if event_type <> 'payment_intent.amount_capturable_updated'
       and object ->> 'capture_method' is distinct from 'manual' then
      return 'ignored';
    end if;
    org := private.stripe_org(object);
    if org is null then
      return 'unmatched';
    end if;
    insert into public.payment_holds
      (org_id, stripe_payment_intent_id, description, amount_cents, currency, capture_before)
    values (org, intent_id, coalesce(object ->> 'description', ''),
            coalesce(nullif((object ->> 'amount_capturable')::bigint, 0), (object ->> 'amount')::bigint),
            coalesce(lower(object ->> 'currency'), 'usd'), deadline)
    on conflict (stripe_payment_intent_id) do nothing
    returning * into hold;
    if hold.id is null then
      select * into hold from public.payment_holds where stripe_payment_intent_id = intent_id for update;
    end if;
    perform private.link_stripe_customer(org, object ->> 'customer');
  end if;
  if hold.status <> 'requires_capture' then
    return 'stale';  -- captured, canceled or expired is final
  end if;

  if event_type = 'payment_intent.amount_capturable_updated' then
    if coalesce((object ->> 'amount_capturable')::bigint, 0) = 0 then
      return 'ignored';
    end if;
    update public.payment_holds
       set amount_cents = (object ->> 'amount_capturable')::bigint,
           currency = coalesce(lower(object ->> 'currency'), currency), capture_before = deadline
     where id = hold.id;
  elsif event_type = 'payment_intent.canceled' then
    update public.payment_holds set status = 'canceled', canceled_at = event_at where id = hold.id;
  else
    update public.payment_holds set status = 'captured', captured_at = event_at where id = hold.id;
  end if;
  return 'applied';
end
$$;
comment on function private.apply_stripe_payment_intent(jsonb, text, timestamptz) is
  'payment_intent.amount_capturable_updated (hold authorised, deadline created + 7 days), .canceled '
  'and .succeeded (final states). Called by apply_stripe_event.';

-- ## Checkout
create or replace function private.apply_stripe_checkout(object jsonb, event_at timestamptz) returns text
language plpgsql set search_path = ''
as $$
declare
  org uuid := private.stripe_org(object);
  intent_id text := object ->> 'payment_intent';
  started_at timestamptz := least(private.stripe_time(object -> 'created'), event_at);
begin
  if org is null then
    return 'ignored';
  end if;
  perform private.link_stripe_customer(org, object ->> 'customer');
  -- An authorised, uncaptured payment (capture_method=manual) is a hold until captured.
  if object ->> 'mode' = 'payment' and object ->> 'payment_status' = 'unpaid' and intent_id ~ '^pi_' then
    insert into public.payment_holds as h
      (org_id, stripe_payment_intent_id, stripe_checkout_session_id, description, amount_cents,
       currency, capture_before)
    values (org, intent_id, object ->> 'id', coalesce(object -> 'metadata' ->> 'description', ''),
            (object ->> 'amount_total')::bigint, coalesce(lower(object ->> 'currency'), 'usd'),
            started_at + interval '7 days')
    on conflict (stripe_payment_intent_id) do update
       set stripe_checkout_session_id = excluded.stripe_checkout_session_id,
           description = case when h.description = '' then excluded.description else h.description end;
  end if;
  return 'applied';
end
$$;
comment on function private.apply_stripe_checkout(jsonb, timestamptz) is
  'checkout.session.completed: links the organization to its customer; an uncaptured mode=payment '
  'session records its payment hold. Called by apply_stripe_event.';

-- ## Dispatch, ledger and replay
create or replace function private.stripe_event_effect(event_type text, object jsonb, event_at timestamptz)
returns text
language plpgsql set search_path = ''
as $$
begin
  if event_type = 'checkout.session.completed' then
    return private.apply_stripe_checkout(object, event_at);
  elsif event_type in ('customer.subscription.created', 'customer.subscription.updated',
                       'customer.subscription.deleted') then
    return private.apply_stripe_subscription(object, event_type, event_at);
  elsif event_type in ('invoice.paid', 'invoice.payment_succeeded', 'invoice.payment_failed') then
    return private.apply_stripe_invoice(object, event_type, event_at);
  elsif event_type in ('payment_intent.amount_capturable_updated', 'payment_intent.canceled',
                       'payment_intent.succeeded') then
    return private.apply_stripe_payment_intent(object, event_type, event_at);
  end if;
  return 'ignored';
end
$$;
comment on function private.stripe_event_effect(text, jsonb, timestamptz) is
  'Applies one event''s object; answers applied, ignored, stale or unmatched.';

-- Runs the effect in a subtransaction: bad data in a signed event (a data or integrity error)
-- becomes 'malformed' with the reason, and only that; anything else (a lock timeout, a
-- serialization failure) still fails the request so that Stripe retries.
create or replace function private.try_stripe_event_effect(
  event_type text, object jsonb, event_at timestamptz, out outcome text, out detail text
)
language plpgsql set search_path = ''
as $$
begin
  outcome := private.stripe_event_effect(event_type, object, event_at);
exception when data_exception or integrity_constraint_violation then
  outcome := 'malformed';
  detail := sqlerrm;
end
$$;
comment on function private.try_stripe_event_effect(text, jsonb, timestamptz) is
  'stripe_event_effect, with bad data answered as (''malformed'', reason) and nothing written.';

create or replace function private.replay_unmatched_stripe_events(customer text) returns integer
language plpgsql set search_path = ''
as $$
declare
  waiting public.stripe_webhook_events;
  result record;
  replayed integer := 0;
begin
  for waiting in
    select * from public.stripe_webhook_events e
     where e.outcome = 'unmatched' and e.payload -> 'data' -> 'object' ->> 'customer' = customer
     order by e.stripe_created_at, e.event_id
       for update
  loop
    select * into result from private.try_stripe_event_effect(
      waiting.type, waiting.payload -> 'data' -> 'object', waiting.stripe_created_at);
    if result.outcome <> 'unmatched' then
      update public.stripe_webhook_events
         set outcome = result.outcome, detail = coalesce(result.detail, 'applied once its customer was linked')
       where event_id = waiting.event_id;
      replayed := replayed + 1;
    end if;
  end loop;
  return replayed;
end
$$;
comment on function private.replay_unmatched_stripe_events(text) is
  'Applies, in Stripe''s order, the events that waited for this customer''s organization; answers how many.';

create or replace function public.apply_stripe_event(event jsonb) returns text
language plpgsql security invoker set search_path = ''
as $$
declare
  event_at timestamptz := private.stripe_time(event -> 'created');
  object jsonb := event -> 'data' -> 'object';
  result record;
begin
  if jsonb_typeof(event) is distinct from 'object' or coalesce(event ->> 'id', '') !~ '^evt_'
     or jsonb_typeof(event -> 'type') is distinct from 'string' or event_at is null
     or jsonb_typeof(object) is distinct from 'object' then
    insert into public.stripe_webhook_events (event_id, type, stripe_created_at, payload, outcome, detail)
    values (case when event ->> 'id' ~ '^evt_[A-Za-z0-9_]{1,250}$' then event ->> 'id'
                 else 'evt_malformed_' || md5(event::text) end,
            coalesce(left(event ->> 'type', 200), 'malformed'), coalesce(event_at, now()), event,
            'malformed', 'not a Stripe event: id, type, created and data.object are required')
    on conflict on constraint stripe_webhook_events_pkey do nothing;
    return case when found then 'malformed' else 'duplicate' end;
  end if;

  insert into public.stripe_webhook_events (event_id, type, stripe_created_at, payload)
  values (event ->> 'id', event ->> 'type', event_at, event)
  on conflict on constraint stripe_webhook_events_pkey do nothing;
  if not found then
    return 'duplicate';
  end if;
  select * into result from private.try_stripe_event_effect(event ->> 'type', object, event_at);
  update public.stripe_webhook_events set outcome = result.outcome, detail = result.detail
   where event_id = event ->> 'id';
  if result.outcome = 'applied' and object ->> 'customer' ~ '^cus_' then
    perform private.replay_unmatched_stripe_events(object ->> 'customer');
  end if;
  return result.outcome;
end
$$;
comment on function public.apply_stripe_event(jsonb) is
  'Records a verified Stripe event in the ledger and applies it in the same transaction; answers '
  'applied, ignored, stale, unmatched, malformed or duplicate (already recorded: no effect). '
  'Handled types and ordering rules in migration 20261124167200. Service role only (stripe-webhook).';
revoke execute on function public.apply_stripe_event(jsonb) from public, anon, authenticated;
grant execute on function public.apply_stripe_event(jsonb) to service_role;

-- The helpers write billing state: only the service role (through apply_stripe_event) runs them.
do $$
declare
  helper text;
begin
  foreach helper in array array[
    'private.stripe_time(jsonb)', 'private.stripe_org(jsonb)', 'private.stripe_item_key(jsonb)',
    'private.link_stripe_customer(uuid, text)',
    'private.apply_stripe_subscription(jsonb, text, timestamptz)',
    'private.apply_stripe_invoice(jsonb, text, timestamptz)',
    'private.apply_stripe_payment_intent(jsonb, text, timestamptz)',
    'private.apply_stripe_checkout(jsonb, timestamptz)',
    'private.stripe_event_effect(text, jsonb, timestamptz)',
    'private.try_stripe_event_effect(text, jsonb, timestamptz)',
    'private.replay_unmatched_stripe_events(text)']
  loop
    execute format('revoke execute on function %s from public, anon, authenticated', helper);
    execute format('grant execute on function %s to service_role', helper);
  end loop;
end
$$;
