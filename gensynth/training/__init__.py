"""Training recipes, losses, augmentation and metrics shared by the inquisitor and train."""
