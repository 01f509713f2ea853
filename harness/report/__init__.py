"""Reports: the JSON report (versioned schema), the HTML grid, and the upgrade gate."""
