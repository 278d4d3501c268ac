"""US telecom taxes: the rule-set model, its files and the engines that compute tax lines."""
