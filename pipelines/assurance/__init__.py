"""Revenue assurance and fraud: leakage controls, fraud ground truth, analyst case status,
independent re-rating and the auditors' RA report (docs/revenue-assurance.md, docs/fraud.md)."""
