"""Term arithmetic (pure): the next term, the cancel-by date, reminder ladders. Shared by
subscriptions, reports, reminders, warranties and automatic renewal."""
