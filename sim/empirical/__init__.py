"""The simulator against data: calibration, validation, substitution and sensitivity.

``calibration`` fits the behavioural parameters of ``uci_2005`` by the method of simulated
moments on April-July 2005; ``validation`` starts the simulator from the accounts' state
as of July and compares August, September and the October default with the data;
``substitution`` measures where cut borrowers and sole traders go (other lenders or unmet
need, I1-I2); ``sensitivity`` varies the unsourced lender-access parameters and shows
which policy rankings change.
"""
