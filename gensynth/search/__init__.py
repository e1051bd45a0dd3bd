"""The search: generator, inquisitor, utility and the explore loop."""
