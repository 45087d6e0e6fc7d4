-- Toasts are for noticing, not for keeping: a seen one goes 30 days after it was raised, an
-- unseen one after 90. Before messages in a batch (run order 5), since deleting a message also
-- deletes its toasts. Numbered after the retention registry (20261125140000), which it needs.
select private.register_retention('public.notifications', 'created_at', interval '30 days',
  'In-app toasts: seen ones after 30 days, unseen ones after 90 (issue 9).',
  'seen_at is not null or created_at < $1 - interval ''60 days''', 5::smallint);
