"""Pictures of ground truth and predictions: colours (one palette rule), overlays and error maps
(``vpskit show``), and what the report page draws."""
