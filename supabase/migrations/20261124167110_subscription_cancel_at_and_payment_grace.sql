-- Three facts the webhooks now keep: when a subscription is set to end (Stripe's cancel_at), the
-- time of the last subscription event applied, and how long an organization keeps full access
-- after a failed payment. Two clocks order Stripe's events: stripe_state_at (the status, which
-- invoice events change too) and stripe_object_at (plan, seats, add-ons, period: only
-- subscription events carry them), so a newer invoice.paid does not make an older
-- customer.subscription.updated lose its seats. The grace length is per
-- plan (a column, default 7 days), so an enterprise contract can get longer than a monthly Solo;
-- invoice.payment_failed starts it from the first failure, invoice.paid clears it.

alter table public.subscriptions add column cancel_at timestamptz;
comment on column public.subscriptions.cancel_at is 'When Stripe will cancel the subscription, if scheduled.';
alter table public.subscriptions add column stripe_object_at timestamptz;
comment on column public.subscriptions.stripe_object_at is
  'Time of the last customer.subscription event applied: an older one does not change plan, seats, add-ons or period.';

alter table public.plans
  add column payment_grace_days smallint not null default 7 check (payment_grace_days between 0 and 60);
comment on column public.plans.payment_grace_days is
  'Days of full access after the first failed payment before the organization becomes read-only.';
