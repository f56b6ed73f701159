"""The simulator against data: calibration and out-of-sample validation on the UCI data.

``calibration`` fits the behavioural parameters of ``uci_2005`` by the method of simulated
moments on April-July 2005; ``validation`` starts the simulator from the accounts' state
as of July and compares August, September and the October default with the data.
"""
