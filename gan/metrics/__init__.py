"""Evaluation metrics: toy-mixture mode statistics (`toy`), offline 8x8-digit class statistics (`digits`)."""
