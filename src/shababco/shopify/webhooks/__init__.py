"""Webhook deliveries: intake verifies and stores them (the answer is 200 only once committed),
the inbox worker applies them through `mirror`, refetch fills what a payload may lack. The topic
table (`topics.TOPICS`) is the one place a topic is read, for intake and worker alike."""
